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
import { brotliFrameOptions, decompressZstdFrame, isZstd, MAX_FRAME_BYTES } from "./frame-checks";
import { zstdFrames, ZstdDecompressStream } from "./zstd";

const brotliDecompressAsync = promisify(brotliDecompress);

/** Raw bytes of a large blob per zstd frame (each compressed on its own, see compress-pool.ts). */
export const LARGE_CHUNK = 1024 * 1024;

/** One frame of small blobs (about 1 MB), compressed as a unit; `data` may be reused at once. */
export function compressFrame(data: Uint8Array): Promise<Buffer> {
  return compressChunk(data);
}

/**
 * A pack frame, decompressed. Its bounds are checked before anything is allocated (frame-checks.ts,
 * MAX_FRAME_BYTES), by the same functions the writer threads use (local/writer-thread.ts), so a
 * hostile pack cannot make a restore allocate gigabytes on either side.
 */
export { MAX_FRAME_BYTES };

export async function decompressFrame(data: Buffer): Promise<Buffer> {
  if (isZstd(data)) return decompressZstdFrame(data, MAX_FRAME_BYTES, zstdFrames, (size) => Buffer.allocUnsafe(size));
  return brotliDecompressAsync(data, brotliFrameOptions(MAX_FRAME_BYTES));
}

/** A stream transform decompressing a large blob whose stored bytes start with `head`. */
export function largeDecompressor(head: Uint8Array): Transform {
  if (isZstd(head)) return new ZstdDecompressStream();
  // Larger chunks: a 100 MB file is a few hundred stream hops instead of thousands.
  return createBrotliDecompress({ chunkSize: 256 * 1024 });
}
