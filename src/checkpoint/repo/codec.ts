/**
 * Compression. New content is stored as zstd frames at level 3 (compress-pool.ts): a pack frame
 * (about 1 MB of small blobs back to back) is one zstd frame, and a large blob is a run of zstd
 * frames, one per 1 MB of content, which any zstd stream decoder reads as one stream.
 *
 * Checkpoints written before zstd hold Brotli (frames at quality 2, large blobs at quality 1) and
 * stay readable: each frame or blob says which it is by its first bytes. A zstd frame starts with
 * its magic number; the Brotli streams Torpor wrote use windows of 2^20 and 2^22 bytes, which
 * makes their first byte odd, and the magic's first byte (0x28) is even. Whatever the codec, the
 * output is then checked against the blob's SHA-256, so bytes that only pretend to be one codec
 * are refused like any other corruption.
 */
import { promisify } from "node:util";
import { brotliDecompress, createBrotliDecompress } from "node:zlib";
import type { Transform } from "node:stream";
import { compressChunk } from "./compress-pool";
import { isZstd, zstdDecompressInto, zstdFrameContentSize, ZstdDecompressStream } from "./zstd";

const brotliDecompressAsync = promisify(brotliDecompress);

/** Raw bytes of a large blob per zstd frame (each compressed on its own, see compress-pool.ts). */
export const LARGE_CHUNK = 1024 * 1024;

/** One frame of small blobs (about 1 MB), compressed as a unit; `data` may be reused at once. */
export function compressFrame(data: Uint8Array): Promise<Buffer> {
  return compressChunk(data);
}

/**
 * The most a frame holds once decompressed: a frame closes once it holds 1 MB, and its last blob
 * is a small file (at most 1 MB). Anything claiming more is refused before it is decompressed, so
 * a hostile pack cannot make a restore allocate gigabytes (local/writer-pool.ts holds the same bound).
 */
export const MAX_FRAME_BYTES = 2 * 1024 * 1024;

export async function decompressFrame(data: Buffer): Promise<Buffer> {
  if (isZstd(data)) {
    const size = zstdFrameContentSize(data);
    if (size === null || size > MAX_FRAME_BYTES) throw new Error(`frame content size ${size} (at most ${MAX_FRAME_BYTES})`);
    const out = Buffer.allocUnsafe(size);
    const written = zstdDecompressInto(out, data);
    if (written !== size) throw new Error(`frame gave ${written} bytes, its header says ${size}`);
    return out;
  }
  // The default 16 KB output chunks make a 1 MB frame 64 thread-pool round trips (and events).
  return brotliDecompressAsync(data, { chunkSize: 1024 * 1024, maxOutputLength: MAX_FRAME_BYTES });
}

/** A stream transform decompressing a large blob whose stored bytes start with `head`. */
export function largeDecompressor(head: Uint8Array): Transform {
  if (isZstd(head)) return new ZstdDecompressStream();
  // Larger chunks: a 100 MB file is a few hundred stream hops instead of thousands.
  return createBrotliDecompress({ chunkSize: 256 * 1024 });
}
