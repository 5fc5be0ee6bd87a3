/**
 * Compression. Brotli, measured on the bench workspace (node_modules + sources, see
 * docs/checkpoints.md): small blobs compressed together in ~1 MB frames at quality 2 came to 19.5 %
 * of their size (quality 3: 18.9 %, 10 % slower), against 27 % for blob-by-blob deflate -6, at a
 * third of the CPU time; large
 * blobs at quality 1 run at about 250 MB/s for 33 %.
 */
import { promisify } from "node:util";
import { brotliCompress, brotliDecompress, constants, createBrotliCompress, createBrotliDecompress } from "node:zlib";

const compressAsync = promisify(brotliCompress);
const decompressAsync = promisify(brotliDecompress);

/**
 * zlib hands its output back in chunks of `chunkSize` (16 KB by default), each one a round trip
 * between the thread pool and the main thread, which is busy during a snapshot: with 16 KB a
 * 1 MB frame took about 13 of them and the bench's 100 MB file 2,000, which made that file the
 * snapshot's critical path (3.2 s instead of 1.4 s). 256 KB: one round trip for a typical frame
 * (about 20 % of 1 MB), a few for an incompressible one. The stored bytes do not depend on it.
 */
const OUTPUT_CHUNK = 256 * 1024;

/** One frame of small blobs (about 1 MB), compressed as a unit. */
export function compressFrame(data: Buffer): Promise<Buffer> {
  return compressAsync(data, {
    chunkSize: OUTPUT_CHUNK,
    // A 1 MB window covers a whole frame; a larger one only costs memory.
    params: { [constants.BROTLI_PARAM_QUALITY]: 2, [constants.BROTLI_PARAM_LGWIN]: 20, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
}

export function decompressFrame(data: Buffer): Promise<Buffer> {
  // The default 16 KB output chunks make a 1 MB frame 64 thread-pool round trips (and events).
  return decompressAsync(data, { chunkSize: 1024 * 1024 });
}

/** A stream transform compressing one large blob. */
export function largeCompressor(sizeHint: number) {
  return createBrotliCompress({
    chunkSize: OUTPUT_CHUNK,
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 1,
      [constants.BROTLI_PARAM_LGWIN]: 22,
      [constants.BROTLI_PARAM_SIZE_HINT]: Math.min(sizeHint, 2 ** 31 - 1),
    },
  });
}

export function largeDecompressor() {
  // Larger chunks: a 100 MB file is a few hundred stream hops instead of thousands.
  return createBrotliDecompress({ chunkSize: 256 * 1024 });
}
