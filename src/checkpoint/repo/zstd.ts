/**
 * zstd (the zstd-napi binding, built from its bundled sources at install). Node 20's zlib has no
 * zstd, and zstd decompresses about 2.5x faster than Brotli on the bench workspace, which is most
 * of a restore's CPU time.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export { DecompressStream as ZstdDecompressStream } from "zstd-napi";

/**
 * The low-level binding, for decompressing into a buffer of a size we bound. A CommonJS require:
 * Node's ESM loader cannot resolve "zstd-napi/binding" (no exports map, no extension), and
 * bundlers map a require of an external package to the package itself.
 */
const binding = createRequire(import.meta.url)("zstd-napi/binding") as typeof import("zstd-napi/binding");
/** Decompresses every frame of `src` into `dst`; throws if they need more room than `dst` has. */
export const zstdDecompressInto = (dst: Uint8Array, src: Uint8Array): number => binding.decompress(dst, src);
/** The content size a frame's header declares: null when it declares none. */
export const zstdFrameContentSize = (frame: Uint8Array): number | null => binding.getFrameContentSize(frame);

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

/**
 * Worker source defining `zstd` (the binding) from `workerData.zstdFrom` (zstdResolveFrom()), and
 * `isZstd`, the same test as above (a worker's source cannot import it).
 */
export const ZSTD_WORKER_SOURCE = `
const isZstd = (data) => data.length >= 4 && data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd;
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
