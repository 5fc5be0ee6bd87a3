/**
 * The snapshot's compressors: codec.ts's parameters, hence the very same stored bytes (a test
 * compares them), with larger output chunks. zlib hands its output back in chunks of `chunkSize`
 * (16 KB by default), each one a round trip between the thread pool and the main thread; during a
 * snapshot the main thread is busy reading and hashing small files, so every round trip waits.
 * With 16 KB chunks a 1 MB frame took about 13 of them, and the 100 MB file of the bench
 * workspace 2,000, which made it the snapshot's critical path (3.2 s instead of 1.4 s).
 * TODO(codec.ts owner): give codec.ts these chunk sizes and drop this file.
 */
import { promisify } from "node:util";
import { brotliCompress, constants, createBrotliCompress } from "node:zlib";

const compressAsync = promisify(brotliCompress);

/** One round trip for a typical frame (about 20 % of 1 MB), a few for an incompressible one. */
const FRAME_OUTPUT_CHUNK = 256 * 1024;
const LARGE_OUTPUT_CHUNK = 256 * 1024;

/** codec.compressFrame, with FRAME_OUTPUT_CHUNK. */
export function compressFrame(data: Buffer): Promise<Buffer> {
  return compressAsync(data, {
    chunkSize: FRAME_OUTPUT_CHUNK,
    params: { [constants.BROTLI_PARAM_QUALITY]: 2, [constants.BROTLI_PARAM_LGWIN]: 20, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
}

/** codec.largeCompressor, with LARGE_OUTPUT_CHUNK. */
export function largeCompressor(sizeHint: number) {
  return createBrotliCompress({
    chunkSize: LARGE_OUTPUT_CHUNK,
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 1,
      [constants.BROTLI_PARAM_LGWIN]: 22,
      [constants.BROTLI_PARAM_SIZE_HINT]: Math.min(sizeHint, 2 ** 31 - 1),
    },
  });
}
