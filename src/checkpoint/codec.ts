/**
 * Compression of blobs. Brotli, because on source and node_modules content it matches deflate -6
 * ratios at about twice the speed (small blobs, quality 4) and beats deflate on large binaries at
 * several times the speed (large blobs, quality 3 with a 4 MB window). Measured on the bench
 * workspace; see docs/checkpoints.md.
 */
import { promisify } from "node:util";
import { brotliCompress, brotliDecompress, constants, createBrotliCompress, createBrotliDecompress } from "node:zlib";

const compressAsync = promisify(brotliCompress);
const decompressAsync = promisify(brotliDecompress);

/** One small blob, compressed on its own so that a ranged GET can fetch it alone. */
export function compressSmall(data: Buffer): Promise<Buffer> {
  return compressAsync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 4,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      [constants.BROTLI_PARAM_LGWIN]: 22,
    },
  });
}

export function decompressSmall(data: Buffer): Promise<Buffer> {
  return decompressAsync(data);
}

/** A stream transform compressing one large blob. */
export function largeCompressor(sizeHint: number) {
  return createBrotliCompress({
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 3,
      [constants.BROTLI_PARAM_LGWIN]: 22,
      [constants.BROTLI_PARAM_SIZE_HINT]: Math.min(sizeHint, 2 ** 31 - 1),
    },
  });
}

export function largeDecompressor() {
  return createBrotliDecompress();
}
