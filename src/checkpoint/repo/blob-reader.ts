/**
 * Reading blobs back, checked: small blobs come from ranged GETs of their frames in packs
 * (neighbouring frames of one pack merged into one range), large blobs as decompressed streams. Every blob's SHA-256 and size
 * are checked: a small blob before it is handed out, a large one as its stream ends (the stream
 * errors instead of ending when the content does not match). The checks are frame-checks.ts's,
 * which the writer threads run too.
 */
import { createHash } from "node:crypto";
import { PassThrough, Transform, type Readable } from "node:stream";
import { IntegrityError, StorageError } from "../../core/errors";
import type { ObjectStore } from "../../objectstore/types";
import { decompressFrame, largeDecompressor } from "./codec";
import { blobMatches, largeContentCheck } from "./frame-checks";
import { type BlobLocation, keys } from "./format";

const MERGE_GAP = 64 * 1024;
/** Ranges stay small so that memory stays bounded: concurrency × MAX_RANGE bytes in flight. */
const MAX_RANGE = 2 * 1024 * 1024;

export interface FrameBlob {
  hash: string;
  rawOffset: number;
  size: number;
}

export interface Frame {
  offset: number;
  length: number;
  blobs: FrameBlob[];
}

export interface PackRange {
  pack: string;
  start: number;
  end: number; // inclusive
  frames: Frame[];
}

export interface ReadPlan {
  ranges: PackRange[];
  large: { hash: string; length: number; size: number }[];
}

/** Which ranges of which packs hold these blobs: their frames, neighbours merged into one GET. */
export function planReads(hashes: Iterable<string>, locations: Map<string, BlobLocation>, checkpoint: string): ReadPlan {
  const byPack = new Map<string, Map<number, Frame>>();
  const large: ReadPlan["large"] = [];
  for (const hash of hashes) {
    const loc = locations.get(hash);
    if (!loc) throw new IntegrityError("INTEGRITY", `Checkpoint ${checkpoint}: no location for blob ${hash}`);
    const [pack, offset, length, rawOffset, size] = loc;
    if (pack === "") {
      large.push({ hash, length, size });
      continue;
    }
    let frames = byPack.get(pack);
    if (!frames) byPack.set(pack, (frames = new Map()));
    let frame = frames.get(offset);
    if (!frame) frames.set(offset, (frame = { offset, length, blobs: [] }));
    frame.blobs.push({ hash, rawOffset, size });
  }
  const ranges: PackRange[] = [];
  for (const [pack, frames] of byPack) {
    let current: PackRange | undefined;
    for (const frame of [...frames.values()].sort((a, b) => a.offset - b.offset)) {
      const frameEnd = frame.offset + frame.length - 1;
      if (current && frame.offset - current.end - 1 <= MERGE_GAP && frameEnd - current.start < MAX_RANGE) {
        current.end = Math.max(current.end, frameEnd);
        current.frames.push(frame);
      } else {
        current = { pack, start: frame.offset, end: frameEnd, frames: [frame] };
        ranges.push(current);
      }
    }
  }
  return { ranges, large };
}

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

export function mismatch(what: string, detail: string): IntegrityError {
  return new IntegrityError("INTEGRITY", `${what}: ${detail} (corrupt, truncated or tampered)`);
}

/** Fetches one range of a pack, as stored (compressed frames), refusing a short read. */
export async function fetchRange(objects: ObjectStore, range: PackRange): Promise<Buffer> {
  const length = range.end - range.start + 1;
  const buf = length > 0 ? await objects.getBuffer(keys.pack(range.pack), { start: range.start, end: range.end }) : Buffer.alloc(0);
  if (buf.length !== length) throw mismatch(`Pack ${range.pack}`, `expected ${length} bytes at ${range.start}, got ${buf.length}`);
  return buf;
}

/** Fetches one range, then yields each wanted blob of its frames, decompressed and checked. */
export async function* readRange(objects: ObjectStore, range: PackRange): AsyncGenerator<{ hash: string; data: Buffer }> {
  const buf = await fetchRange(objects, range);
  for (const frame of range.frames) {
    const slice = buf.subarray(frame.offset - range.start, frame.offset - range.start + frame.length);
    let raw: Buffer;
    try {
      raw = await decompressFrame(slice);
    } catch (error) {
      throw mismatch(`Pack ${range.pack}, frame at ${frame.offset}`, `cannot decompress: ${(error as Error).message}`);
    }
    for (const blob of frame.blobs) {
      if (!blobMatches(raw, blob.rawOffset, blob.size, blob.hash, sha256)) throw mismatch(`Pack ${range.pack}, blob ${blob.hash}`, "hash mismatch");
      yield { hash: blob.hash, data: raw.subarray(blob.rawOffset, blob.rawOffset + blob.size) };
    }
  }
}

/** The first bytes of a stream (at least 4 unless it is shorter), put back for the next reader. */
async function peekHead(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < 4 && !stream.readableEnded) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      parts.push(chunk);
      length += chunk.length;
      continue;
    }
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        stream.off("readable", settle).off("end", settle).off("error", settle);
        if (error) reject(error);
        else resolve();
      };
      stream.on("readable", settle).on("end", settle).on("error", settle);
    });
  }
  const head = Buffer.concat(parts);
  if (head.length > 0) stream.unshift(head);
  return head;
}

/**
 * A large blob as stored: its first bytes (which tell the codec, codec.ts) and the stream of all
 * its bytes, whose read failures surface as transient storage errors.
 */
export async function openStoredBlob(objects: ObjectStore, hash: string): Promise<{ head: Buffer; stream: Readable }> {
  const raw = await objects.getStream(keys.blob(hash));
  const failed = (error: unknown) => new StorageError("STORAGE_TRANSIENT", `Reading blob ${hash} failed`, { cause: error });
  let head: Buffer;
  try {
    head = await peekHead(raw);
  } catch (error) {
    raw.destroy();
    throw failed(error);
  }
  const stream = new PassThrough();
  raw.on("error", (error: Error) => stream.destroy(failed(error)));
  // Closing the reader's end (a failed restore) stops the download too.
  stream.on("close", () => raw.destroy());
  return { head, stream: raw.pipe(stream) };
}

/** A stream of a large blob's content that errors, instead of ending, if hash or size is wrong. */
export async function openLargeBlob(objects: ObjectStore, blob: { hash: string; size: number }): Promise<Readable> {
  return decompressLargeBlob(await openStoredBlob(objects, blob.hash), blob);
}

/** openLargeBlob for a blob already opened with openStoredBlob. */
export function decompressLargeBlob(stored: { head: Buffer; stream: Readable }, blob: { hash: string; size: number }): Readable {
  const content = largeContentCheck(blob, createHash("sha256"));
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const problem = content.add(chunk);
      if (problem) callback(mismatch(`Blob ${blob.hash}`, problem));
      else callback(null, chunk);
    },
    flush(callback) {
      const problem = content.end();
      callback(problem ? mismatch(`Blob ${blob.hash}`, problem) : undefined);
    },
  });
  const decompressor = largeDecompressor(stored.head);
  stored.stream.on("error", (error: Error) => check.destroy(error));
  decompressor.on("error", (error: Error) => check.destroy(mismatch(`Blob ${blob.hash}`, `cannot decompress: ${error.message}`)));
  check.on("close", () => stored.stream.destroy());
  return stored.stream.pipe(decompressor).pipe(check);
}
