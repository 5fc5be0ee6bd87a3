/**
 * zstd (the zstd-napi binding, built from its bundled sources at install). Node 20's zlib has no
 * zstd, and zstd decompresses about 2.5x faster than Brotli on the bench workspace, which is most
 * of a restore's CPU time.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ZstdBinding } from "./worker-source";

export { DecompressStream as ZstdDecompressStream } from "zstd-napi";

/**
 * The low-level binding, for decompressing into a buffer of a size we bound. A CommonJS require:
 * Node's ESM loader cannot resolve "zstd-napi/binding" (no exports map, no extension), and
 * bundlers map a require of an external package to the package itself.
 */
const binding = createRequire(import.meta.url)("zstd-napi/binding") as ZstdBinding;
/** The binding's frame calls (decompress into a buffer, a frame's declared size), for frame-checks.ts. */
export const zstdFrames: Pick<ZstdBinding, "decompress" | "getFrameContentSize"> = binding;

/** The codec test, shared with the worker threads (frame-checks.ts). */
export { isZstd } from "./frame-checks";

/**
 * Where worker threads resolve zstd-napi's low-level binding from (it lets them (de)compress into
 * reused buffers): this module's own file, and the app's folder. Their own `require` would
 * resolve from the cwd only. The resolving happens in the worker (worker-source.ts), out of the
 * bundlers' sight: Next's bundler rewrites a `createRequire(…).resolve(…)` written here into its
 * own module id, or into a throw, and a worker can load neither.
 */
export function zstdResolveFrom(): string[] {
  const from = [join(process.cwd(), "package.json")];
  const here = import.meta.url;
  if (typeof here === "string" && here.startsWith("file:")) from.unshift(fileURLToPath(here));
  return from;
}
