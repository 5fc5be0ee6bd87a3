/**
 * Large files: streamed once through a SHA-256 and the compressor (codec.ts) into a temp file (never whole in memory),
 * then, unless the bucket already holds that content, uploaded as `blobs/<hash>` from the temp
 * file, so that a transient failure can be retried with a fresh stream.
 * A file the source can read in chunks (`ChunkedFile`) is read into two reused buffers instead
 * of a stream's fresh 1 MB Buffer per chunk: each of those was a new mapping to page-fault in
 * and unmap (bin/torpor caps malloc's mmap threshold at 256 KB), and garbage for the GC.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ObjectStore } from "../objectstore/index";
import { retryTransient } from "../objectstore/retry";
import type { Gate } from "./channel";
import { keys } from "./format";
import type { KnownBlobs } from "./known-blobs";
import type { PackerStats } from "./packer";
import { largeCompressor } from "./codec";
import type { ChunkedFile } from "./types";

/** A file opened for reading in chunks, of `size` bytes when opened. */
export interface LargeBlobContext {
  objects: ObjectStore;
  known: KnownBlobs;
  uploadGate: Gate;
  stats: PackerStats;
  tmpDir: string;
  pending: Map<string, Promise<void>>;
  /** Pairs of read buffers for storeLargeFile, reused from file to file. */
  readBuffers: [Buffer, Buffer][];
}

const READ_CHUNK = 1024 * 1024;

type Stored = { hash: string; size: number; upload: Promise<void> };

/** Hashes and stores one large file; resolves with its hash and size once it is read (the upload may still run). */
export async function storeLargeBlob(stream: Readable, sizeHint: number, ctx: LargeBlobContext): Promise<Stored> {
  const tmp = path.join(ctx.tmpDir, randomUUID());
  const hasher = createHash("sha256");
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hasher.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(stream, tap, largeCompressor(sizeHint), createWriteStream(tmp));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return finish(hasher.digest("hex"), size, tmp, ctx);
}

/** storeLargeBlob for a file read in chunks: reading the next chunk overlaps compressing this one. */
export async function storeLargeFile(file: ChunkedFile, ctx: LargeBlobContext): Promise<Stored> {
  const tmp = path.join(ctx.tmpDir, randomUUID());
  const hasher = createHash("sha256");
  const buffers = ctx.readBuffers.pop() ?? [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
  const compressor = largeCompressor(file.size);
  const written = pipeline(compressor, createWriteStream(tmp));
  written.catch(() => {}); // awaited below; its failure also fails the next write
  let size = 0;
  let next = file.read(buffers[0], 0, READ_CHUNK);
  try {
    for (let i = 0; ; i ^= 1) {
      const n = await next;
      if (n === 0) break;
      const chunk = buffers[i]!.subarray(0, n);
      hasher.update(chunk);
      size += n;
      next = file.read(buffers[i ^ 1]!, 0, READ_CHUNK);
      // The callback comes once zlib has consumed the chunk: only then is its buffer free again.
      await new Promise<void>((resolve, reject) => compressor.write(chunk, (error) => (error ? reject(error) : resolve())));
    }
    compressor.end();
    await written;
  } catch (error) {
    compressor.destroy();
    await next.catch(() => {}); // a read in flight must not land in a buffer given to another file
    await written.catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
  ctx.readBuffers.push(buffers);
  return finish(hasher.digest("hex"), size, tmp, ctx);
}

/** Uploads the compressed temp file unless the content is stored already (or being stored). */
async function finish(hash: string, size: number, tmp: string, ctx: LargeBlobContext): Promise<Stored> {
  const existing = ctx.pending.get(hash);
  if (existing) {
    await rm(tmp, { force: true });
    return { hash, size, upload: existing };
  }
  if (await ctx.known.hasLarge(hash, size)) {
    await rm(tmp, { force: true });
    return { hash, size, upload: Promise.resolve() };
  }
  const upload = ctx.uploadGate
    .run(async () => {
      const length = (await stat(tmp)).size;
      await retryTransient(() => ctx.objects.put(keys.blob(hash), createReadStream(tmp), { contentLength: length }));
      ctx.stats.uploadedBytes += length;
      ctx.stats.uploadedObjects += 1;
      ctx.known.set(hash, ["", 0, length, 0, size]);
    })
    .finally(() => rm(tmp, { force: true }));
  ctx.pending.set(hash, upload);
  upload.catch(() => {}); // awaited by the snapshot before it commits
  return { hash, size, upload };
}
