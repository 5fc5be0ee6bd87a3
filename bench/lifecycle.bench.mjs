// Hibernate, archive and resume of a realistic workspace through the whole embedded system (the
// workflows on the embedded engine, SQLite, the embedded S3 server, a local sandbox), against the
// checkpoint engine alone on a plain local folder in the same run: what the sandbox path costs on
// top of the engine. The workspace is the checkpoint bench's (its node_modules cache, generated
// sources); run that bench once first. Results: a table and bench-output/lifecycle.json.
//
// Run: node bench/lifecycle.bench.mjs   (loads the TypeScript sources through tsx)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";
import { generateSources, summarize } from "./fixtures/workspace.mjs";

register();
const { loadConfig } = await import("../src/core/config.ts");
const { createRuntime } = await import("../src/runtime/index.ts");
const { createCheckpointEngine, localDirSource, localDirTarget } = await import("../src/checkpoint/index.ts");
const { openObjectStore } = await import("../src/objectstore/open.ts");

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = path.join(ROOT, "bench-output", "cache", "next-app");
const OUT = process.env.BENCH_DIR ? path.join(path.resolve(process.env.BENCH_DIR), "lifecycle") : path.join(ROOT, "bench-output", "lifecycle");

if (!existsSync(path.join(CACHE, "node_modules"))) {
  console.error(`missing ${CACHE}: run \`npm run bench -- checkpoint\` first (it installs the workspace's node_modules)`);
  process.exit(1);
}

const seconds = (start) => (performance.now() - start) / 1000;
const pause = () => new Promise((resolve) => setTimeout(resolve, 6000));
function fresh(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

fresh(OUT);
const workspace = path.join(OUT, "workspace");
execFileSync("cp", ["-a", CACHE, workspace]);
generateSources(path.join(workspace, "src"), 1);
const shape = summarize(workspace);
console.log(`workspace: ${shape.files} files, ${(shape.bytes / 1024 / 1024).toFixed(0)} MB`);

// Baseline: the checkpoint engine on a plain folder, against its own embedded S3 server.
const s3 = await openObjectStore(loadConfig({ TORPOR_DATA_DIR: fresh(path.join(OUT, "engine-data")) }).objectStore);
const engine = createCheckpointEngine({ objects: s3.objects });
execFileSync("sync");
let t = performance.now();
const snap = await engine.snapshot(localDirSource(workspace));
const engineSnapshot = seconds(t);
const restoreDir = path.join(OUT, "engine-restore");
await pause();
t = performance.now();
await engine.restore(snap.checkpoint, localDirTarget(restoreDir));
const engineRestore = seconds(t);
t = performance.now();
const verified = await localDirTarget(restoreDir).hashFiles(snap.files > 0 ? (await engine.readManifest(snap.checkpoint)).entries.filter((e) => e.type === "file").map((e) => e.path) : []);
const engineVerify = seconds(t);
await s3.close();
rmSync(restoreDir, { recursive: true, force: true });

// The system: a session whose local sandbox holds the same files.
const config = loadConfig({ TORPOR_DATA_DIR: fresh(path.join(OUT, "data")), TORPOR_LOG_LEVEL: "warn", TORPOR_GC_GRACE_MS: "0" });
const runtime = await createRuntime(config, { log: () => {} });
const steps = {};
try {
  const sandbox = await runtime.sandboxes.create({ template: "base" });
  execFileSync("cp", ["-a", `${workspace}/.`, path.join(config.sandbox.root, sandbox.id, "workspace")]);
  const session = await runtime.store.createSession({ ownerId: "bench", provider: runtime.sandboxes.kind, template: "base", idleTimeoutMs: 3_600_000, sandboxId: sandbox.id });
  const run = async (label, name) => {
    execFileSync("sync");
    const start = performance.now();
    const { ids } = await runtime.engine.send({ name, data: { sessionId: session.id, reason: "bench", requestId: `bench-${label}-${Date.now()}` } });
    const record = await runtime.engine.waitFor(ids[0]);
    if (record.status !== "completed") throw new Error(`${label}: ${record.status} ${record.error}`);
    steps[label] = { seconds: seconds(start), steps: Object.fromEntries(record.steps.map((s) => [s.name, ((s.endedAt ?? 0) - s.startedAt) / 1000])) };
    console.log(`  ${label.padEnd(10)} ${steps[label].seconds.toFixed(2)} s`);
  };
  await run("hibernate", "torpor/session.hibernate.requested");
  await run("archive", "torpor/session.archive.requested");
  await pause();
  await run("resume", "torpor/session.resume.requested");
} finally {
  await runtime.close();
}

const step = (label, name) => steps[label].steps[name] ?? NaN;
const rows = [
  ["checkpoint (hibernate's flush + checkpoint step)", step("hibernate", "Flush pending changes and take a checkpoint"), engineSnapshot],
  ["restore into a new sandbox (resume)", step("resume", "Restore the checkpoint into the new sandbox"), engineRestore],
  ["verify every restored file (resume)", step("resume", "Verify every restored file"), engineVerify],
];
const lines = [
  "| step | local sandbox (s) | engine on a folder (s) | sandbox / engine |",
  "| --- | --- | --- | --- |",
  ...rows.map(([name, sandbox, base]) => `| ${name} | ${sandbox.toFixed(2)} | ${base.toFixed(2)} | ${(sandbox / base).toFixed(2)}x |`),
  `| whole runs: hibernate / archive / resume | ${["hibernate", "archive", "resume"].map((l) => steps[l].seconds.toFixed(2)).join(" / ")} | | |`,
];
console.log(`\n${lines.join("\n")}\n\n${shape.files} files, ${Object.keys(verified).length} verified.`);
mkdirSync(path.join(ROOT, "bench-output"), { recursive: true });
writeFileSync(path.join(ROOT, "bench-output", "lifecycle.json"), JSON.stringify({ shape, engineSnapshot, engineRestore, engineVerify, steps }, null, 2));
rmSync(OUT, { recursive: true, force: true });
process.exit(0);
