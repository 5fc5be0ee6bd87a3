// Compiles the Node entry points (CLI, start command, workers) to dist/ with esbuild, so that the
// hot path runs plain JavaScript and not a TypeScript loader. The settings, and which packages the
// CLI bundles, are in scripts/esbuild-options.mjs.
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { cliBuildOptions, serviceBuildOptions } from "./esbuild-options.mjs";

const root = process.cwd();

/** Entry points besides the CLI: [source, output name]. Add new process entry points here. */
const services = [
  ["src/server/start.ts", "start"],
  ["src/runtime/worker.ts", "worker"],
  // The package's "./client" export for host apps: the typed client and the presence hook.
  ["src/client/index.ts", "client"],
];

/** BUILD_OUTDIR builds elsewhere (start-up experiments, comparing builds); dist/ by default. */
const outdir = process.env.BUILD_OUTDIR || "dist";

const names = [];
if (existsSync("src/cli/main.ts")) {
  await build(cliBuildOptions(root, outdir));
  names.push("cli");
}
await build(serviceBuildOptions(root, services, outdir));
names.push(...services.filter(([source]) => existsSync(source)).map(([, name]) => name));
console.log(`built ${names.map((name) => `${outdir}/${name}.mjs`).join(", ")}`);
