/**
 * Large files: streamed once through a SHA-256 and the compressor (codec.ts) into a temp file (never whole in memory),
 * then, unless the bucket already holds that content, uploaded as `blobs/<hash>` from the temp
 * file, so that a transient failure can be retried with a fresh stream.
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
import { largeCompressor } from "./snapshot-codec";

export interface LargeBlobContext {
  objects: ObjectStore;
  known: KnownBlobs;
  uploadGate: Gate;
  stats: PackerStats;
  tmpDir: string;
  pending: Map<string, Promise<void>>;
}

/** Hashes and stores one large file; resolves with its hash and size once it is read (the upload may still run). */
export async function storeLargeBlob(stream: Readable, sizeHint: number, ctx: LargeBlobContext): Promise<{ hash: string; size: number; upload: Promise<void> }> {
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
  const hash = hasher.digest("hex");
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
