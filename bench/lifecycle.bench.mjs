// Hibernate, archive and resume of a realistic workspace through the whole embedded system (the
// workflows on the embedded engine, SQLite, the embedded S3 server, a local sandbox), against the
// checkpoint engine alone on a plain local folder in the same run: what the sandbox path costs on
// top of the engine. The workspace is the checkpoint bench's (its node_modules cache, generated
// sources; installed here when missing). Results: a table and bench-output/lifecycle.json.
//
// Run: node bench/lifecycle.bench.mjs   (loads the TypeScript sources through tsx)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";
import { ensureNodeModules } from "./fixtures/setup.mjs";
import { generateSources, summarize } from "./fixtures/workspace.mjs";

register();
const { loadConfig } = await import("../src/core/config.ts");
const { createRuntime } = await import("../src/runtime/index.ts");
const { createCheckpointEngine, localDirSource, localDirTarget } = await import("../src/checkpoint/index.ts");
const { openObjectStore } = await import("../src/objectstore/open.ts");

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = path.join(ROOT, "bench-output", "cache", "next-app");
const OUT = process.env.BENCH_DIR ? path.join(path.resolve(process.env.BENCH_DIR), "lifecycle") : path.join(ROOT, "bench-output", "lifecycle");

// A fresh clone has no cache yet: install it as the checkpoint bench does.
ensureNodeModules(CACHE, path.join(ROOT, "bench", "fixtures", "next-app"));

const seconds = (start) => (performance.now() - start) / 1000;
const pause = () => new Promise((resolve) => setTimeout(resolve, 6000));
/** Kernel CPU seconds of this process (every thread) so far. */
const kernel = () => process.resourceUsage().systemCPUTime / 1e6;
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

// Baseline: the checkpoint engine on a plain folder, against its own object store. Its restores go
// into new folders that are deleted only at the end, as the sandbox's archive defers its deletion.
const s3 = await openObjectStore(loadConfig({ TORPOR_DATA_DIR: fresh(path.join(OUT, "engine-data")) }).objectStore);
const engine = createCheckpointEngine({ objects: s3.objects });
execFileSync("sync");
let t = performance.now();
const snap = await engine.snapshot(localDirSource(workspace));
const engineSnapshot = seconds(t);
const filePaths = (await engine.readManifest(snap.checkpoint)).entries.filter((e) => e.type === "file").map((e) => e.path);
let engineRounds = 0;
async function engineRestore() {
  const restoreDir = path.join(OUT, `engine-restore-${engineRounds++}`);
  execFileSync("sync");
  await pause();
  const k = kernel();
  const start = performance.now();
  await engine.restore(snap.checkpoint, localDirTarget(restoreDir));
  const restore = { seconds: seconds(start), kernel: kernel() - k };
  const v = performance.now();
  const verified = await localDirTarget(restoreDir).hashFiles(filePaths);
  console.log(`  engine restore ${restore.seconds.toFixed(2)} s (kernel ${restore.kernel.toFixed(2)} s)`);
  return { restore, verify: seconds(v), verified: Object.keys(verified).length };
}

// The system: a session whose local sandbox holds the same files. Two rounds of hibernate →
// archive → resume, the engine's restore before the first and after the second (ABBA order).
const config = loadConfig({ TORPOR_DATA_DIR: fresh(path.join(OUT, "data")), TORPOR_LOG_LEVEL: "warn", TORPOR_GC_GRACE_MS: "0" });
const runtime = await createRuntime(config, { log: () => {} });
const rounds = [];
const engineRuns = [];
try {
  const sandbox = await runtime.sandboxes.create({ template: "base" });
  execFileSync("cp", ["-a", `${workspace}/.`, path.join(config.sandbox.root, sandbox.id, "workspace")]);
  const session = await runtime.store.createSession({ ownerId: "bench", provider: runtime.sandboxes.kind, template: "base", idleTimeoutMs: 3_600_000, sandboxId: sandbox.id });
  const run = async (steps, label, name) => {
    execFileSync("sync");
    const k = kernel();
    const start = performance.now();
    const { ids } = await runtime.engine.send({ name, data: { sessionId: session.id, reason: "bench", requestId: `bench-${label}-${Date.now()}` } });
    const record = await runtime.engine.waitFor(ids[0]);
    if (record.status !== "completed") throw new Error(`${label}: ${record.status} ${record.error}`);
    steps[label] = { seconds: seconds(start), kernel: kernel() - k, steps: Object.fromEntries(record.steps.map((s) => [s.name, ((s.endedAt ?? 0) - s.startedAt) / 1000])) };
    console.log(`  ${label.padEnd(10)} ${steps[label].seconds.toFixed(2)} s (kernel ${steps[label].kernel.toFixed(2)} s)`);
  };
  const sandboxRound = async () => {
    const steps = {};
    await run(steps, "hibernate", "torpor/session.hibernate.requested");
    await run(steps, "archive", "torpor/session.archive.requested");
    // Right after the archive (which killed the sandbox and its 22k files): the case of issue 13.
    await run(steps, "resume", "torpor/session.resume.requested");
    rounds.push(steps);
  };
  engineRuns.push(await engineRestore());
  await sandboxRound();
  await sandboxRound();
  engineRuns.push(await engineRestore());
} finally {
  await runtime.close();
  await s3.close();
}

const RESTORE = "Restore the checkpoint into the new sandbox";
const VERIFY = "Verify every restored file";
const med = (xs) => [...xs].sort((a, b) => a - b).reduce((sum, x, _, all) => sum + x / all.length, 0);
const sandboxRestore = med(rounds.map((r) => r.resume.steps[RESTORE] ?? NaN));
const sandboxVerify = med(rounds.map((r) => r.resume.steps[VERIFY] ?? NaN));
const engineRestoreS = med(engineRuns.map((r) => r.restore.seconds));
const engineVerify = med(engineRuns.map((r) => r.verify));
const rows = [
  // Round 2's hibernate finds the restored files as the manifest says (stat scan) and reuses the
  // checkpoint: only round 1's is a checkpoint of the whole workspace.
  ["checkpoint (round 1's hibernate: flush + checkpoint step)", rounds[0].hibernate.steps["Flush pending changes and take a checkpoint"] ?? NaN, engineSnapshot],
  ["restore into a new sandbox right after an archive (resume; mean of 2)", sandboxRestore, engineRestoreS],
  ["verify every restored file (resume; mean of 2)", sandboxVerify, engineVerify],
];
const lines = [
  "| step | local sandbox (s) | engine on a folder (s) | sandbox / engine |",
  "| --- | --- | --- | --- |",
  ...rows.map(([name, sandbox, base]) => `| ${name} | ${sandbox.toFixed(2)} | ${base.toFixed(2)} | ${(sandbox / base).toFixed(2)}x |`),
  ...rounds.map((r, i) => `| round ${i + 1}, whole runs: hibernate / archive / resume (kernel s) | ${["hibernate", "archive", "resume"].map((l) => `${r[l].seconds.toFixed(2)} (${r[l].kernel.toFixed(2)})`).join(" / ")} | | |`),
  `| engine restores, before round 1 / after round 2 (kernel s) | | ${engineRuns.map((r) => `${r.restore.seconds.toFixed(2)} (${r.restore.kernel.toFixed(2)})`).join(" / ")} | |`,
];
console.log(`\n${lines.join("\n")}\n\n${shape.files} files, ${engineRuns[0].verified} verified. Kernel time is the whole process's (every thread) during the run.`);
mkdirSync(path.join(ROOT, "bench-output"), { recursive: true });
writeFileSync(path.join(ROOT, "bench-output", "lifecycle.json"), JSON.stringify({ shape, engineSnapshot, engineRuns, rounds }, null, 2));
rmSync(OUT, { recursive: true, force: true });
process.exit(0);
