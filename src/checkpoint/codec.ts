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

/** One frame of small blobs (about 1 MB), compressed as a unit. */
export function compressFrame(data: Buffer): Promise<Buffer> {
  return compressAsync(data, {
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
