// `npm run bench`: runs every bench/*.bench.mjs (or .ts, through tsx) it finds, or only the ones
// named on the command line (`npm run bench -- checkpoint`), one after another, each as its own
// process with OpenSSL's legacy provider (the embedded S3 server needs it for paged listings).
// Each benchmark prints its own table; the exit code is non-zero when any benchmark failed.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

const benchDir = path.resolve("bench");
const all = readdirSync(benchDir).filter((f) => /\.bench\.(mjs|ts)$/.test(f)).sort();
const wanted = process.argv.slice(2);
const selected = wanted.length === 0 ? all : all.filter((f) => wanted.some((w) => f === w || f.startsWith(`${w}.bench.`)));
if (selected.length === 0) {
  console.error(`no benchmark matches ${wanted.join(", ")} (have: ${all.join(", ") || "none"})`);
  process.exit(2);
}

const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --openssl-legacy-provider`.trim() };
let failed = 0;
for (const file of selected) {
  console.log(`\n=== ${file} ===`);
  const args = file.endsWith(".ts") ? ["--import", "tsx", path.join(benchDir, file)] : [path.join(benchDir, file)];
  const result = spawnSync(process.execPath, args, { stdio: "inherit", env });
  if (result.status !== 0) {
    failed++;
    console.error(`${file} failed (exit ${result.status ?? result.signal})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
