/**
 * zstd (the zstd-napi binding, built from its bundled sources at install). Node 20's zlib has no
 * zstd, and zstd decompresses about 2.5x faster than Brotli on the bench workspace, which is most
 * of a restore's CPU time.
 */
import { createRequire } from "node:module";

export { decompress as zstdDecompress, DecompressStream as ZstdDecompressStream } from "zstd-napi";

/** A zstd frame starts with these four bytes (0xFD2FB528, little-endian). */
export function isZstd(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd;
}

/**
 * Where worker threads load zstd-napi's low-level binding from (their own `require` would resolve
 * from the cwd). The binding lets them (de)compress into reused buffers.
 */
export function zstdBindingPath(): string {
  return createRequire(import.meta.url).resolve("zstd-napi/binding");
}
