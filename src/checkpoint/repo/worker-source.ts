/**
 * How a worker thread's code gets into the thread: typed TypeScript functions, turned into the
 * source of an eval'd worker by Function.prototype.toString().
 *
 * Chosen over worker module files of their own (issue 16, option a) because the code runs from
 * three places and a file resolved by path works in only two without guessing: under vitest and
 * tsx it is TypeScript (a worker would need tsx's loader), in the CLI it is dist/ (a sibling .mjs
 * would do), and in Next's server bundle `import.meta.url` is the *source* file's URL (Turbopack
 * compiles it to the .ts path), so the bundle cannot tell itself from vitest without reading the
 * environment, and a serverless host has no dist/ beside it. Source text taken from the running
 * function is whatever that mode compiled, so it is right in all three.
 *
 * The rule that makes it work: a worker body (and every helper it is given) is self-contained.
 * It names only its parameters and JavaScript's globals; modules come in through `WorkerEnv`, so
 * no import can be renamed under it by a bundler (vitest's `__vi_import_0__`, Turbopack's
 * `e.r(…)`), and no `require` appears in a body for a bundler to rewrite. Only this module's
 * prelude, a plain string, requires anything. esbuild's `keepNames` (tsx, vitest) leaves
 * `__name(fn, "name")` calls in bodies: the prelude defines it.
 */
import type { MessagePort } from "node:worker_threads";
import { frameChecks, type FrameChecks } from "./frame-checks";

/** zstd-napi's low-level binding (buffers of our own size, no stream objects). */
export type ZstdBinding = typeof import("zstd-napi/binding");

/** What a worker body is given: its port and data, Node's modules, zstd and the frame checks. */
export interface WorkerEnv<Data> {
  parentPort: MessagePort;
  workerData: Data & { zstdFrom: string[] };
  node: { fs: typeof import("node:fs"); zlib: typeof import("node:zlib"); crypto: typeof import("node:crypto") };
  zstd: ZstdBinding;
  frame: FrameChecks;
}

/**
 * Loads the binding from the first place that has it: `from` is zstdResolveFrom() (zstd.ts),
 * resolved here in the worker, out of the bundlers' sight.
 */
function loadZstdBinding(requireFrom: (from: string) => (id: string) => unknown, from: string[]): ZstdBinding {
  let failure: unknown;
  for (const place of from) {
    try {
      return requireFrom(place)("zstd-napi/binding") as ZstdBinding;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/** The eval'd source of a worker thread that runs `body` (self-contained, see above) with its env. */
export function workerSource<Data>(body: (env: WorkerEnv<Data>) => void): string {
  const checks = Object.entries(frameChecks)
    .map(([name, fn]) => `${JSON.stringify(name)}: (${fn.toString()})`)
    .join(",\n");
  return `"use strict";
var __name = (target) => target;
const { parentPort, workerData } = require("node:worker_threads");
const node = { fs: require("node:fs"), zlib: require("node:zlib"), crypto: require("node:crypto") };
const zstd = (${loadZstdBinding.toString()})(require("node:module").createRequire, workerData.zstdFrom);
const frame = {
${checks}
};
(${body.toString()})({ parentPort, workerData, node, zstd, frame });
`;
}
