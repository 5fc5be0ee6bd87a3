/**
 * The checks every reader of stored content makes, written once for the main thread (codec.ts,
 * blob-reader.ts) and the worker threads (local/writer-thread.ts):
 * - a frame's codec, told by its first bytes (zstd's magic number, else Brotli: codec.ts says why);
 * - a zstd pack frame's bounds: its header must declare its size, at most MAX_FRAME_BYTES, and
 *   decompressing must give exactly that (a hostile pack cannot make a restore allocate gigabytes);
 * - a blob's size and SHA-256, in a decompressed frame or over a large blob's stream (refused as
 *   soon as it is longer than the manifest says, not after filling the target).
 *
 * Each function is self-contained: it uses only its parameters and JavaScript's globals, never
 * an import or a module-level name, because the worker threads run these same functions from their
 * source text (worker-source.ts says why). Hashing and decompression come in as parameters.
 */
import type { ZstdBinding } from "./worker-source";

/**
 * The most a pack frame holds once decompressed: a frame closes once it holds 1 MB, and its last
 * blob is a small file (at most 1 MB).
 */
export const MAX_FRAME_BYTES = 2 * 1024 * 1024;

/** A zstd frame starts with these four bytes (0xFD2FB528, little-endian). */
export function isZstd(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd;
}

/**
 * Decompresses one zstd pack frame into `alloc(size)` (a new buffer, or a view of a reused one),
 * refusing a frame that declares no size or more than `max` before anything is allocated.
 */
export function decompressZstdFrame<T extends Uint8Array>(frame: Uint8Array, max: number, zstd: Pick<ZstdBinding, "getFrameContentSize" | "decompress">, alloc: (size: number) => T): T {
  const size = zstd.getFrameContentSize(frame);
  if (size === null || size > max) throw new Error(`frame content size ${size} (at most ${max})`);
  const out = alloc(size);
  const written = zstd.decompress(out, frame);
  if (written !== size) throw new Error(`frame gave ${written} bytes, its header says ${size}`);
  return out;
}

/** Options for zlib's Brotli decoder of a pack frame (older checkpoints): bounded like zstd's. */
export function brotliFrameOptions(max: number): { chunkSize: number; maxOutputLength: number } {
  // The default 16 KB output chunks make a 1 MB frame 64 thread-pool round trips (and events).
  return { chunkSize: max, maxOutputLength: max };
}

/** Whether a decompressed frame holds the blob at `rawOffset`: all its `size` bytes, with its SHA-256. */
export function blobMatches(raw: Uint8Array, rawOffset: number, size: number, hash: string, sha256: (data: Uint8Array) => string): boolean {
  const end = rawOffset + size;
  return end <= raw.length && sha256(raw.subarray(rawOffset, end)) === hash;
}

/** A large blob's content checked as it streams by: each call returns the problem, or null. */
export interface ContentCheck {
  add(piece: Uint8Array): string | null;
  end(): string | null;
}

export function largeContentCheck(expected: { hash: string; size: number }, hasher: { update(data: Uint8Array): unknown; digest(encoding: "hex"): string }): ContentCheck {
  let size = 0;
  return {
    add(piece) {
      size += piece.length;
      if (size > expected.size) return `hash mismatch (more than ${expected.size} bytes)`;
      hasher.update(piece);
      return null;
    },
    end() {
      return size !== expected.size || hasher.digest("hex") !== expected.hash ? `hash mismatch (${size} bytes)` : null;
    },
  };
}

/** What a worker's source carries of this module (worker-source.ts injects each function's text). */
export const frameChecks = { isZstd, decompressZstdFrame, brotliFrameOptions, blobMatches, largeContentCheck };
export type FrameChecks = typeof frameChecks;
