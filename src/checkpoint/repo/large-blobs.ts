/**
 * Large files: streamed once through a SHA-256 and compressed (codec.ts) into a temp file (never whole in memory),
 * then, unless the bucket already holds that content, uploaded as `blobs/<hash>` from the temp
 * file, so that a transient failure can be retried with a fresh stream.
 * A file the source can read in chunks (`ChunkedFile`) is read into two reused buffers instead
 * of a stream's fresh 1 MB Buffer per chunk: each of those was a new mapping to page-fault in
 * and unmap (bin/torpor caps malloc's mmap threshold at 256 KB), and garbage for the GC.
 */
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { ObjectStore } from "../../objectstore/types";
import { retryTransient } from "../../objectstore/retry";
import type { Gate } from "../channel";
import { keys } from "./format";
import type { KnownBlobs } from "./known-blobs";
import type { PackerStats } from "./packer";
import { LARGE_CHUNK } from "./codec";
import { compressChunk } from "./compress-pool";
import type { ChunkedFile } from "../types";

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

/** Compressions queued per large file: enough for both workers, each holding one 1 MB chunk. */
const CHUNKS_IN_FLIGHT = 3;

type Stored = { hash: string; size: number; upload: Promise<void> };

/**
 * Writes a large blob's content, compressed one LARGE_CHUNK at a time on the compression workers
 * (both of them for one file), to a temp file in order. Chunks in flight are bounded.
 */
class CompressedTempFile {
  private readonly out: WriteStream;
  private readonly inFlight: Promise<Buffer>[] = [];
  private failure: Error | undefined;
  private chunks = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
    this.out.on("error", (error) => (this.failure ??= error));
  }

  /** Queues a chunk (copied at once: the caller may reuse its buffer). */
  async add(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    this.inFlight.push(compressChunk(chunk));
    this.chunks++;
    if (this.inFlight.length >= CHUNKS_IN_FLIGHT) await this.writeOldest();
  }

  async finish(): Promise<void> {
    // Content that shrank to nothing is still one (empty) zstd frame, a valid stored blob.
    if (this.chunks === 0) await this.add(new Uint8Array(0));
    while (this.inFlight.length > 0) await this.writeOldest();
    this.out.end();
    await finished(this.out);
  }

  async abandon(): Promise<void> {
    await Promise.allSettled(this.inFlight.splice(0));
    this.out.destroy();
    await finished(this.out).catch(() => {});
    await rm(this.path, { force: true });
  }

  private async writeOldest(): Promise<void> {
    const compressed = await this.inFlight.shift()!;
    if (this.failure) throw this.failure;
    if (!this.out.write(compressed)) await once(this.out, "drain");
  }
}

/** Hashes and stores one large file; resolves with its hash and size once it is read (the upload may still run). */
export async function storeLargeBlob(stream: Readable, ctx: LargeBlobContext): Promise<Stored> {
  const tmp = new CompressedTempFile(path.join(ctx.tmpDir, randomUUID()));
  const hasher = createHash("sha256");
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hasher.update(chunk);
      size += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= LARGE_CHUNK) {
        const joined = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        for (let at = 0; at + LARGE_CHUNK <= joined.length; at += LARGE_CHUNK) await tmp.add(joined.subarray(at, at + LARGE_CHUNK));
        const rest = joined.length % LARGE_CHUNK;
        if (rest > 0) {
          pending.push(joined.subarray(joined.length - rest));
          pendingBytes = rest;
        }
      }
    }
    if (pendingBytes > 0) await tmp.add(Buffer.concat(pending, pendingBytes));
    await tmp.finish();
  } catch (error) {
    await tmp.abandon();
    throw error;
  }
  return finish(hasher.digest("hex"), size, tmp.path, ctx);
}

/** storeLargeBlob for a file read in chunks: reading the next chunk overlaps compressing this one. */
export async function storeLargeFile(file: ChunkedFile, ctx: LargeBlobContext): Promise<Stored> {
  const tmp = new CompressedTempFile(path.join(ctx.tmpDir, randomUUID()));
  const hasher = createHash("sha256");
  const buffers = ctx.readBuffers.pop() ?? [Buffer.allocUnsafeSlow(LARGE_CHUNK), Buffer.allocUnsafeSlow(LARGE_CHUNK)];
  let size = 0;
  let next = file.read(buffers[0], 0, LARGE_CHUNK);
  try {
    for (let i = 0; ; i ^= 1) {
      const n = await next;
      if (n === 0) break;
      const chunk = buffers[i]!.subarray(0, n);
      hasher.update(chunk);
      size += n;
      // add() copies the chunk before it returns: this buffer is free for the read after next.
      const added = tmp.add(chunk);
      next = file.read(buffers[i ^ 1]!, 0, LARGE_CHUNK);
      await added;
    }
    await tmp.finish();
  } catch (error) {
    await next.catch(() => {}); // a read in flight must not land in a buffer given to another file
    await tmp.abandon();
    throw error;
  }
  ctx.readBuffers.push(buffers);
  return finish(hasher.digest("hex"), size, tmp.path, ctx);
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
