/**
 * Reading blobs back, checked: small blobs come from ranged GETs into packs (neighbouring blobs of
 * one pack merged into one range), large blobs as decompressed streams. Every blob's SHA-256 and size
 * are checked: a small blob before it is handed out, a large one as its stream ends (the stream
 * errors instead of ending when the content does not match).
 */
import { createHash } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import { IntegrityError, StorageError } from "../core/errors";
import type { ObjectStore } from "../objectstore/index";
import { decompressSmall, largeDecompressor } from "./codec";
import { type BlobLocation, keys } from "./format";

const MERGE_GAP = 64 * 1024;
/** Ranges stay small so that memory stays bounded: concurrency × MAX_RANGE bytes in flight. */
const MAX_RANGE = 2 * 1024 * 1024;

export interface PackRange {
  pack: string;
  start: number;
  end: number; // inclusive
  blobs: { hash: string; offset: number; length: number; size: number }[];
}

export interface ReadPlan {
  ranges: PackRange[];
  large: { hash: string; length: number; size: number }[];
}

export function planReads(hashes: Iterable<string>, locations: Map<string, BlobLocation>, checkpoint: string): ReadPlan {
  const byPack = new Map<string, PackRange["blobs"]>();
  const large: ReadPlan["large"] = [];
  for (const hash of hashes) {
    const loc = locations.get(hash);
    if (!loc) throw new IntegrityError("INTEGRITY", `Checkpoint ${checkpoint}: no location for blob ${hash}`);
    const [pack, offset, length, size] = loc;
    if (pack === "") large.push({ hash, length, size });
    else {
      let list = byPack.get(pack);
      if (!list) byPack.set(pack, (list = []));
      list.push({ hash, offset, length, size });
    }
  }
  const ranges: PackRange[] = [];
  for (const [pack, blobs] of byPack) {
    blobs.sort((a, b) => a.offset - b.offset);
    let current: PackRange | undefined;
    for (const blob of blobs) {
      const blobEnd = blob.offset + blob.length - 1;
      if (current && blob.offset - current.end - 1 <= MERGE_GAP && blobEnd - current.start < MAX_RANGE) {
        current.end = Math.max(current.end, blobEnd);
        current.blobs.push(blob);
      } else {
        current = { pack, start: blob.offset, end: blobEnd, blobs: [blob] };
        ranges.push(current);
      }
    }
  }
  return { ranges, large };
}

function mismatch(what: string, detail: string): IntegrityError {
  return new IntegrityError("INTEGRITY", `${what}: ${detail} (corrupt, truncated or tampered)`);
}

/** Fetches one range, then yields each of its blobs, decompressed and checked, one at a time. */
export async function* readRange(objects: ObjectStore, range: PackRange): AsyncGenerator<{ hash: string; data: Buffer }> {
  const length = range.end - range.start + 1;
  const buf = length > 0 ? await objects.getBuffer(keys.pack(range.pack), { start: range.start, end: range.end }) : Buffer.alloc(0);
  if (buf.length !== length) throw mismatch(`Pack ${range.pack}`, `expected ${length} bytes at ${range.start}, got ${buf.length}`);
  for (const blob of range.blobs) {
    const slice = buf.subarray(blob.offset - range.start, blob.offset - range.start + blob.length);
    let data: Buffer;
    try {
      data = await decompressSmall(slice);
    } catch (error) {
      throw mismatch(`Pack ${range.pack}, blob ${blob.hash}`, `cannot decompress: ${(error as Error).message}`);
    }
    if (data.length !== blob.size || createHash("sha256").update(data).digest("hex") !== blob.hash) {
      throw mismatch(`Pack ${range.pack}, blob ${blob.hash}`, "hash mismatch");
    }
    yield { hash: blob.hash, data };
  }
}

/** A stream of a large blob's content that errors, instead of ending, if hash or size is wrong. */
export async function openLargeBlob(objects: ObjectStore, blob: { hash: string; size: number }): Promise<Readable> {
  const raw = await objects.getStream(keys.blob(blob.hash));
  const hasher = createHash("sha256");
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hasher.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      const hash = hasher.digest("hex");
      if (hash !== blob.hash || size !== blob.size) callback(mismatch(`Blob ${blob.hash}`, `hash mismatch (${size} bytes)`));
      else callback();
    },
  });
  const gunzip = largeDecompressor();
  raw.on("error", (error: Error) =>
    check.destroy(new StorageError("STORAGE_TRANSIENT", `Reading blob ${blob.hash} failed`, { cause: error })),
  );
  gunzip.on("error", (error: Error) => check.destroy(mismatch(`Blob ${blob.hash}`, `cannot decompress: ${error.message}`)));
  return raw.pipe(gunzip).pipe(check);
}
