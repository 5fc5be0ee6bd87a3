// Change-feed benchmark (issue #10, Done-when item 3), through the whole embedded system: a session
// whose local (bubblewrap) sandbox holds the bench workspace, SQLite, the embedded object store,
// the embedded engine and the change feed (src/runtime/change-feed.ts) watching the sandbox.
//   1  churn: a process INSIDE the sandbox (the provider's exec, not our API) writes CF_CHURN_FILES
//      files (default 10,000) over CF_CHURN_SECONDS (20), in package folders as an npm install does;
//      the state store's recordChanges / recordActivity calls are counted per second (a wrapper on
//      the store), against the coalescing window in use (TORPOR_CHANGE_COALESCE_MS).
//   2  1-file flush: one file changed inside the sandbox, the flush-session workflow run on the
//      embedded engine; bytes PUT to the object store counted (a wrapper on the store's put) and the
//      whole run timed. Baseline in the same run: restic's backup after the same 1-file change, on a
//      local repository (the same medium as the embedded object store: files on this disk).
//      CF_ROUNDS rounds (default 3), taking turns at going first; medians count.
// Results: a markdown table on stdout and bench-output/change-feed.json (CF_JSON overrides).
// CF_WORKSPACE=tiny uses a 60-file workspace instead of the bench one (tests/bench).
//
// Run: npm run bench -- change-feed   (loads the TypeScript sources through tsx)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";
import { ensureNodeModules } from "./fixtures/setup.mjs";
import { generateSources, listFiles, summarize } from "./fixtures/workspace.mjs";
import { churnScript, countingObjects, countingStore, perSecond, tinyWorkspace } from "./fixtures/change-feed-parts.mjs";

register();
const { loadConfig } = await import("../src/core/config.ts");
const { createRuntime } = await import("../src/runtime/index.ts");
const { sandboxWorkspace } = await import("../src/sandbox/index.ts");
const { SANDBOX_UID, SANDBOX_GID, dropsToSandboxUid } = await import("../src/sandbox/local/bwrap.ts");

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = path.join(ROOT, "bench-output", "cache", "next-app");
const TINY = process.env.CF_WORKSPACE === "tiny";
const OUT = process.env.BENCH_DIR ? path.join(path.resolve(process.env.BENCH_DIR), "change-feed") : path.join(ROOT, "bench-output", TINY ? "change-feed-tiny" : "change-feed");
const JSON_OUT = process.env.CF_JSON ?? path.join(ROOT, "bench-output", "change-feed.json");
const CHURN_FILES = Number(process.env.CF_CHURN_FILES ?? 10_000);
const CHURN_SECONDS = Number(process.env.CF_CHURN_SECONDS ?? 20);
const ROUNDS = Math.max(1, Number(process.env.CF_ROUNDS ?? 3));
/** The flush interval the bench runs with: a change must be this old before a flush takes it. */
const FLUSH_INTERVAL_MS = 300;
const KB = 1024;
/**
 * The churn's node inside the sandbox: no NODE_OPTIONS from this process, and no OpenSSL config.
 * Seen here: as host root the sandbox's /etc is drwx------ root (bwrap makes it for the --ro-bind of
 * /etc/ssl …), so uid 65533 cannot read /etc/ssl/openssl.cnf and a plain `node` exits 13.
 */
const SANDBOX_NODE_ENV = { NODE_OPTIONS: "", OPENSSL_CONF: "/dev/null" };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (start) => (performance.now() - start) / 1000;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 === 1 ? s[Math.floor(mid)] : (s[mid - 1] + s[mid]) / 2;
};
function fresh(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function haveRestic() {
  return spawnSync("restic", ["version"], { stdio: "ignore" }).status === 0;
}

function restic(repo, args) {
  const start = performance.now();
  const result = spawnSync("restic", ["-r", repo, "--quiet", ...args], {
    env: { ...process.env, RESTIC_PASSWORD: "bench", RESTIC_CACHE_DIR: path.join(OUT, "restic-cache") },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`restic ${args[0]} failed (${result.status}): ${result.stderr}`);
  return seconds(start);
}

async function main() {
  fresh(OUT);
  const workspace = path.join(OUT, "workspace");
  if (TINY) tinyWorkspace(workspace);
  else {
    ensureNodeModules(CACHE, path.join(ROOT, "bench", "fixtures", "next-app"));
    execFileSync("cp", ["-a", CACHE, workspace]);
    generateSources(path.join(workspace, "src"), 1);
  }
  const shape = summarize(workspace);
  console.log(`workspace: ${shape.files} files, ${(shape.bytes / KB / KB).toFixed(0)} MB`);

  const writes = [];
  const puts = [];
  const config = loadConfig({
    TORPOR_DATA_DIR: fresh(path.join(OUT, "data")),
    TORPOR_LOG_LEVEL: "warn",
    TORPOR_FLUSH_INTERVAL_MS: String(FLUSH_INTERVAL_MS),
  });
  const windowMs = config.lifecycle.changeCoalesceMs;
  const runtime = await createRuntime(config, {
    log: () => {},
    changeFeed: { syncEveryMs: 0 },
    wrapStore: (store) => countingStore(store, writes),
    wrapObjects: (objects) => countingObjects(objects, puts),
  });
  const result = { shape, windowMs, activityCoalesceMs: config.lifecycle.activityCoalesceMs, churn: null, flush: [], restic: null };
  try {
    const sandbox = await runtime.sandboxes.create({ template: "base" });
    const sandboxDir = path.join(config.sandbox.root, sandbox.id, "workspace");
    execFileSync("cp", ["-a", `${workspace}/.`, sandboxDir]);
    // Copied as this process's user: the sandbox's own processes must be able to write them, as
    // after a restore (the provider hands restored files to the sandbox uid).
    if (dropsToSandboxUid()) execFileSync("chown", ["-R", `${SANDBOX_UID}:${SANDBOX_GID}`, sandboxDir]);
    const session = await runtime.store.createSession({ ownerId: "bench", provider: runtime.sandboxes.kind, template: "base", idleTimeoutMs: 3_600_000, sandboxId: sandbox.id });
    const run = async (name, data) => {
      const { ids } = await runtime.engine.send({ name, data: { sessionId: session.id, requestId: `bench-${name}-${Date.now()}-${Math.random()}`, ...data } });
      const record = await runtime.engine.waitFor(ids[0]);
      if (record.status !== "completed") throw new Error(`${name}: ${record.status} ${record.error}`);
      return { ...record, output: record.result ? JSON.parse(record.result) : null };
    };

    let t = performance.now();
    await run("torpor/session.snapshot.requested", { label: "bench base" });
    console.log(`  first checkpoint (snapshot workflow)   ${seconds(t).toFixed(2)} s`);
    await runtime.changeFeed.sync();
    await runtime.changeFeed.flush();
    writes.length = 0;

    // 1: the churn, inside the sandbox.
    const hadNodeModules = existsSync(path.join(sandboxDir, "node_modules"));
    const churnStart = performance.now();
    const churn = await runtime.sandboxes.exec(sandbox.id, `node -e '${churnScript(CHURN_FILES, CHURN_SECONDS * 1000)}'`, { timeoutMs: (CHURN_SECONDS + 120) * 1000, env: SANDBOX_NODE_ENV });
    if (churn.exitCode !== 0) throw new Error(`churn failed (${churn.exitCode}): ${churn.stderr}`);
    const churnEnd = performance.now();
    const churned = JSON.parse(churn.stdout.trim().split("\n").pop());
    // The last window closes windowMs after the last event; then whatever is still open.
    await sleep(windowMs + 500);
    await runtime.changeFeed.flush();
    const settled = performance.now();
    const bins = perSecond(writes, churnStart, settled);
    const churnWrites = writes.filter((w) => w.at >= churnStart);
    const rows = churnWrites.reduce((n, w) => n + w.rows, 0);
    const churnSeconds = (churnEnd - churnStart) / 1000;
    const fileRate = churned.written / churnSeconds;
    // The feed's bound: per window, one recordChanges per 1,000 paths plus one recordActivity; a
    // 1-second bin can hold the writes of two windows' ends (their timers do not align with bins).
    const perWindow = Math.ceil((fileRate * windowMs) / 1000 / 1000) + 1;
    const bound = Math.ceil(1000 / windowMs) * perWindow * 2;
    result.churn = {
      files: churned.written, seconds: churnSeconds, fileRate, bins, peak: Math.max(...bins),
      mean: churnWrites.length / ((settled - churnStart) / 1000), storeWrites: churnWrites.length,
      recordChanges: churnWrites.filter((w) => w.kind === "recordChanges").length,
      recordActivity: churnWrites.filter((w) => w.kind === "recordActivity").length,
      // Paths the churn created: everything under node_modules/.churn, the folder itself, and
      // node_modules when the workspace had none (the tiny one).
      rows, bound, paths: readdirSync(path.join(sandboxDir, "node_modules", ".churn"), { recursive: true }).length + 1 + (hadNodeModules ? 0 : 1),
      feed: runtime.changeFeed.stats(),
    };
    console.log(`  churn: ${churned.written} files in ${churnSeconds.toFixed(1)} s inside the sandbox; ${churnWrites.length} store writes, ${rows} change rows; per second: ${bins.join(" ")}`);

    // The churn's own flush (not compared): the rounds then start from a checkpoint of it all.
    await sleep(FLUSH_INTERVAL_MS + 50);
    puts.length = 0;
    t = performance.now();
    const churnFlush = await run("torpor/session.flush.requested", { reason: "bench churn" });
    result.churnFlush = { seconds: seconds(t), uploaded: puts.reduce((n, p) => n + p.bytes, 0), output: churnFlush.output };
    console.log(`  flush of the churn                      ${seconds(t).toFixed(2)} s (${churnFlush.output?.status}, ${puts.reduce((n, p) => n + p.bytes, 0)} B uploaded)`);

    // 2: 1-file flush against restic's 1-file backup.
    const useRestic = haveRestic();
    const repo = path.join(OUT, "restic-repo");
    if (useRestic) {
      restic(repo, ["init"]);
      const full = restic(repo, ["backup", sandboxDir]);
      result.restic = { full, incremental: [] };
      console.log(`  restic full backup (not compared)       ${full.toFixed(2)} s`);
    } else console.log("  restic is not installed: no baseline (apt-get install restic)");
    const candidates = listFiles(path.join(workspace, "src")).map((f) => `src/${f}`).filter((f) => f.endsWith(".ts"));
    for (let round = 0; round < ROUNDS; round++) {
      const file = candidates[(round * 37) % candidates.length];
      const change = await runtime.sandboxes.exec(sandbox.id, `printf '%s\\n' '// round ${round} ${Date.now()}' >> '${file}'`);
      if (change.exitCode !== 0) throw new Error(`change failed: ${change.stderr}`);
      const fileBytes = statSync(path.join(sandboxDir, file)).size;
      await sleep(windowMs + 200);
      await runtime.changeFeed.flush();
      await sleep(FLUSH_INTERVAL_MS + 50);
      const torpor = async () => {
        puts.length = 0;
        execFileSync("sync");
        const start = performance.now();
        const record = await run("torpor/session.flush.requested", { reason: `bench round ${round}` });
        const s = seconds(start);
        if (record.output?.status !== "committed") throw new Error(`1-file flush did not commit: ${JSON.stringify(record.output)}`);
        const byPrefix = {};
        for (const p of puts) byPrefix[p.key.split("/")[0]] = (byPrefix[p.key.split("/")[0]] ?? 0) + p.bytes;
        const steps = Object.fromEntries(record.steps.map((x) => [x.name, ((x.endedAt ?? 0) - x.startedAt) / 1000]));
        result.flush.push({ round, file, fileBytes, seconds: s, uploaded: puts.reduce((n, p) => n + p.bytes, 0), objects: puts.length, byPrefix, steps, output: record.output });
        console.log(`  round ${round + 1}: torpor 1-file flush           ${s.toFixed(2)} s, ${puts.length} PUTs, ${puts.reduce((n, p) => n + p.bytes, 0)} B (file ${fileBytes} B)`);
      };
      const baseline = async () => {
        execFileSync("sync");
        const s = restic(repo, ["backup", sandboxDir]);
        result.restic.incremental.push(s);
        console.log(`  round ${round + 1}: restic 1-file backup          ${s.toFixed(2)} s`);
      };
      const order = useRestic ? (round % 2 === 0 ? [torpor, baseline] : [baseline, torpor]) : [torpor];
      for (const step of order) await step();
    }
    result.profile = await profile(runtime, session, sandbox.id, candidates[candidates.length - 1]);
  } finally {
    await runtime.close();
  }
  report(result);
}

/**
 * Where a 1-file flush's time goes: its parts timed one by one on the same sandbox after one more
 * 1-file change (each median of 3). The flush step freezes the sandbox, reads the latest manifest
 * and stat-scans only the folders of the change rows' paths (is anything new at all?), snapshots
 * on that merged scan and that manifest (src/workflows/changed-paths-scan.ts), and thaws it. The
 * full scan and the snapshots timed here are what a hibernate pays, for comparison.
 */
async function profile(runtime, session, sandboxId, file) {
  await runtime.sandboxes.exec(sandboxId, `printf '%s\\n' '// profile' >> '${file}'`);
  const { latestCheckpointId: parent } = await runtime.store.getSession(session.id);
  const time = async (fn, n = 3) => {
    const xs = [];
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      await fn();
      xs.push(seconds(start));
    }
    return median(xs);
  };
  const source = () => sandboxWorkspace(runtime.sandboxes, sandboxId);
  const p = {
    freezeThaw: await time(async () => {
      await runtime.sandboxes.pause(sandboxId);
      await runtime.sandboxes.connect(sandboxId);
    }),
    scan: await time(() => runtime.sandboxes.scan(sandboxId)),
    readManifest: await time(() => runtime.checkpoints.readManifest(parent)),
    snapshotChangedOnly: await time(() => runtime.checkpoints.snapshot(source(), { parent, changedPaths: [file] })),
    snapshotFullScan: await time(() => runtime.checkpoints.snapshot(source(), { parent, changedPaths: [file], fullScan: true })),
  };
  console.log(`  profile (s, median of 3): freeze+thaw ${p.freezeThaw.toFixed(2)}, stat scan ${p.scan.toFixed(2)}, readManifest ${p.readManifest.toFixed(2)}, snapshot of the changed path only ${p.snapshotChangedOnly.toFixed(2)}, snapshot with full scan ${p.snapshotFullScan.toFixed(2)}`);
  return p;
}

function report(r) {
  const c = r.churn;
  const flushS = median(r.flush.map((f) => f.seconds));
  const worst = r.flush.reduce((a, b) => (b.uploaded - b.fileBytes > a.uploaded - a.fileBytes ? b : a));
  const resticS = r.restic ? median(r.restic.incremental) : NaN;
  const ratio = flushS / resticS;
  const verdict = (ok) => (ok ? "PASS" : "FAIL");
  const rows = [
    ["change-feed store writes, peak per second", `${c.peak}`, `≤ ${c.bound}`, verdict(c.peak <= c.bound), `window ${r.windowMs} ms; ${c.files} files in ${c.seconds.toFixed(1)} s = ${c.fileRate.toFixed(0)} files/s uncoalesced`],
    ["change-feed store writes, mean per second", c.mean.toFixed(2), "–", "–", `${c.storeWrites} writes: ${c.recordChanges} recordChanges + ${c.recordActivity} recordActivity (activity coalesced ${r.activityCoalesceMs} ms)`],
    ["change rows written during the churn", `${c.rows}`, `≤ ${c.paths}`, verdict(c.rows > 0 && c.rows <= c.paths), `${c.feed.events} watcher events; at most one row per path (${c.files} files + their folders) per window`],
    ["1-file flush: bytes uploaded beyond the file", `${worst.uploaded - worst.fileBytes}`, `≤ ${64 * KB}`, verdict(worst.uploaded - worst.fileBytes <= 64 * KB), `worst of ${r.flush.length}: ${worst.uploaded} B in ${worst.objects} PUTs for a ${worst.fileBytes} B file (${Object.entries(worst.byPrefix).map(([k, v]) => `${k} ${v}`).join(", ")})`],
    ["1-file flush time (s, median)", flushS.toFixed(2), "–", "–", r.flush.map((f) => f.seconds.toFixed(2)).join(", ")],
    ["restic 1-file incremental (s, median)", Number.isNaN(resticS) ? "–" : resticS.toFixed(2), "–", r.restic ? "–" : "SKIP", r.restic ? r.restic.incremental.map((s) => s.toFixed(2)).join(", ") : "restic not installed"],
    ["1-file flush / restic 1-file", Number.isNaN(ratio) ? "–" : `${ratio.toFixed(2)}x`, "≤ 0.30x", r.restic ? verdict(ratio <= 0.3) : "SKIP", "whole flush-session run vs the whole restic process"],
  ];
  const lines = ["| measure | figure | target | result | detail |", "| --- | --- | --- | --- | --- |", ...rows.map((row) => `| ${row.join(" | ")} |`)];
  const stepNames = Object.keys(r.flush[0].steps);
  const steps = stepNames.map((n) => `${n} ${median(r.flush.map((f) => f.steps[n] ?? NaN)).toFixed(2)} s`).join("; ");
  const p = r.profile;
  const where = `Where a 1-file flush's time goes (parts timed alone, medians of 3): freeze + thaw ${p.freezeThaw.toFixed(2)} s, one stat scan of the sandbox ${p.scan.toFixed(2)} s, reading the latest manifest ${p.readManifest.toFixed(2)} s; the engine's snapshot of the changed path alone ${p.snapshotChangedOnly.toFixed(2)} s, with the full stat scan ${p.snapshotFullScan.toFixed(2)} s (a hibernate's; the flush step reads the manifest once and scans only the changed paths' folders); that snapshot alone is ${(p.snapshotFullScan / resticS).toFixed(2)}x restic's 1-file backup.`;
  console.log(`\n${lines.join("\n")}\n\nWorkspace: ${r.shape.files} files, ${(r.shape.bytes / KB / KB).toFixed(0)} MB, plus the churn's ${c.files} files. Flush steps (medians): ${steps}.\n${where}`);
  mkdirSync(path.dirname(JSON_OUT), { recursive: true });
  writeFileSync(JSON_OUT, JSON.stringify(r, null, 2));
}

await main();
rmSync(OUT, { recursive: true, force: true });
process.exit(0);
