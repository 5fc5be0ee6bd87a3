// Compiles the Node entry points (CLI, start command, workers) to dist/ with esbuild, so that the
// hot path runs plain JavaScript and not a TypeScript loader. Dependencies stay external.
import { build } from "esbuild";
import { existsSync } from "node:fs";

/** Entry points: [source, output name]. Add new process entry points here. */
const entries = [
  ["src/cli/main.ts", "cli"],
  ["src/server/start.ts", "start"],
  ["src/runtime/worker.ts", "worker"],
  // The package's "./client" export for host apps: the typed client and the presence hook.
  ["src/client/index.ts", "client"],
].filter(([source]) => existsSync(source));

await build({
  entryPoints: Object.fromEntries(entries.map(([source, name]) => [name, source])),
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  sourcemap: "linked",
  logLevel: "warning",
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
console.log(`built ${entries.map(([, name]) => `dist/${name}.mjs`).join(", ")}`);
