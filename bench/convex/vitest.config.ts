// The Convex fleet benchmark's own vitest config: convex-test needs vite's import.meta.glob, so the
// benchmark runs inside vitest (bench/fleet-convex.bench.mjs starts it). Its include is only that
// file; the repo's vitest.config.ts includes tests/**/*.test.ts, so `npm test` never runs it.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.."),
  test: {
    include: ["bench/convex/fleet-convex.vitest.ts"],
    pool: "forks",
    maxWorkers: 1,
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    server: { deps: { inline: ["convex-test"] } },
  },
});
