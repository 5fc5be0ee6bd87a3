/**
 * zstd (the zstd-napi binding, built from its bundled sources at install). Node 20's zlib has no
 * zstd, and zstd decompresses about 2.5x faster than Brotli on the bench workspace, which is most
 * of a restore's CPU time.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export { decompress as zstdDecompress, DecompressStream as ZstdDecompressStream } from "zstd-napi";

/** A zstd frame starts with these four bytes (0xFD2FB528, little-endian). */
export function isZstd(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd;
}

/**
 * Where worker threads resolve zstd-napi's low-level binding from (it lets them (de)compress into
 * reused buffers): this module's own file, and the app's folder. Their own `require` would
 * resolve from the cwd only. The resolving happens in the worker (ZSTD_WORKER_SOURCE), out of the
 * bundlers' sight: Next's bundler rewrites a `createRequire(…).resolve(…)` written here into its
 * own module id, or into a throw, and a worker can load neither.
 */
export function zstdResolveFrom(): string[] {
  const from = [join(process.cwd(), "package.json")];
  const here = import.meta.url;
  if (typeof here === "string" && here.startsWith("file:")) from.unshift(fileURLToPath(here));
  return from;
}

/** Worker source defining `zstd` (the binding) from `workerData.zstdFrom` (zstdResolveFrom()). */
export const ZSTD_WORKER_SOURCE = `
const zstd = (() => {
  const { createRequire } = require("node:module");
  let failure;
  for (const from of workerData.zstdFrom) {
    try {
      return createRequire(from)("zstd-napi/binding");
    } catch (e) {
      failure = e;
    }
  }
  throw failure;
})();
`;
