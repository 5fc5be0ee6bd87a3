/**
 * Fleet benchmark (issue 12): what the embedded stack costs at fleet size, with the issue's
 * targets beside each figure and PASS/FAIL per row.
 *
 * Part 1, the state store: FLEET_SESSIONS (100,000) sessions in a real SQLite file (10 % running,
 * 1 % of those idle past their timeout; the rest paused, 0.1 % past the archive period, or
 * archived; one committed checkpoint row each; 5,000 completed runs), inserted in bulk
 * transactions through a second connection with the store's own row mapping. Then, on the real
 * runtime (createRuntime: SQLite store, embedded engine) with only the idle-sweep and retention
 * workflows registered (the hibernate/archive/flush requests a sweep sends reach no workflow, so
 * nothing changes between runs):
 * - idle sweep: one whole run of the real workflow (engine.tick + waitFor), after one warm-up run;
 * - sessions.list and overview.get through tRPC's createCaller, as the dashboard calls them, for an
 *   operator (every session) and for one user (100 sessions): median of 5 calls;
 * - retention: one whole run of the real retention workflow.
 * "Rows read" are the rows the StateStore returns to its callers, counted by a wrapper on every
 * store method (createRuntime's wrapStore): arrays by length, a page by its sessions, a record as 1.
 * The engine's own journal (createRun, recordStep, finishRun…) is left out. Rows returned equal
 * rows scanned only where SQLite's plan SEARCHes an index; a SCAN of the table (and a temp
 * B-tree for ORDER BY) reads every row: the detail column gives the plan of each list query.
 *
 * Part 2, the bucket (the embedded default: the filesystem object store, src/objectstore/open.ts):
 * FLEET_BUCKET_SESSIONS (1,000) sessions' first checkpoints, each a shared node_modules of
 * FLEET_SHARED_FILES (300) generated files plus FLEET_OWN_FILES (5) files of its own, built with
 * the real checkpoint engine (it dedups: the shared tree is stored once), with a gc every 50
 * checkpoints as the hourly retention run would. Every request goes through a counting
 * ObjectStore wrapper. Then: a new session's first snapshot in that bucket against the same in an
 * empty bucket (median of 3 each), and two gc runs: after 1 new checkpoint, and after every
 * session's second checkpoint (FLEET_BUCKET_SESSIONS new ones). The fs store lists a prefix in
 * one call; the S3 LIST pages it would be are estimated as ⌈keys / 1,000⌉ per listed prefix.
 *
 * The Convex adapter under convex-test is measured by `npm run bench -- fleet-convex`.
 * Run: npm run bench -- fleet   (settings above as environment variables; FLEET_JSON=<file>)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { register } from "tsx/esm/api";
import { breakdown, countingObjects, countingStore, fmtN, newCounts, total } from "./fleet/counting.mjs";
import { writeOwn, writeShared } from "./fleet/workspace.mjs";

register();
const { loadConfig } = await import("../src/core/config.ts");
const { createRuntime } = await import("../src/runtime/index.ts");
const { createIdleSweepWorkflow, createRetentionWorkflow } = await import("../src/workflows/index.ts");
const { createContextInner } = await import("../src/server/context.ts");
const { createCaller } = await import("../src/server/routers/index.ts");
const { openObjectStore } = await import("../src/objectstore/open.ts");
const { checkpointEngineFromConfig } = await import("../src/checkpoint/engine/from-config.ts");
const { localDirSource } = await import("../src/checkpoint/index.ts");
const { seed } = await import("./fleet/seed.mjs");

const num = (name, fallback) => Number(process.env[name] ?? fallback);
const SESSIONS = num("FLEET_SESSIONS", 100_000);
const BUCKET_SESSIONS = num("FLEET_BUCKET_SESSIONS", 1000);
const SHARED_FILES = num("FLEET_SHARED_FILES", 300);
const OWN_FILES = num("FLEET_OWN_FILES", 5);
const OWNERS = Math.max(1, Math.floor(SESSIONS / 100));

const base = mkdtempSync(path.join(tmpdir(), "torpor-bench-fleet-"));
const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
const row = (measure, figure, target, pass, detail = "") => rows.push({ measure, figure, target, pass, detail });

// ---------------------------------------------------------------- part 1: the state store

async function storePart() {
  const dir = path.join(base, "store");
  const config = loadConfig({ TORPOR_DATA_DIR: dir, TORPOR_LOG_LEVEL: "warn" });
  let counts = newCounts();
  const runtime = await createRuntime(config, {
    wrapStore: (store) => countingStore(store, { get calls() { return counts.calls; }, get rows() { return counts.rows; } }),
    workflows: [createIdleSweepWorkflow(config.lifecycle.sweepCron), createRetentionWorkflow()],
    changeFeed: false,
  });
  try {
    const now = Date.now();
    let t0 = performance.now();
    const { stats, plans } = seed(config.stateStore.file, now, SESSIONS, OWNERS);
    const seedMs = performance.now() - t0;
    console.log(`seeded ${fmtN(SESSIONS)} sessions in ${fmtMs(seedMs)}: ${JSON.stringify(stats)}`);

    const sweep = async () => {
      counts = newCounts();
      const started = performance.now();
      const run = await runtime.engine.waitFor(await runtime.engine.tick("idle-sweep"));
      const ms = performance.now() - started;
      if (run.status !== "completed") throw new Error(`idle sweep ${run.status}: ${run.error}`);
      // Where the time goes: the store reads ("Find …" steps) against one journaled step per request.
      const spent = (pick) => run.steps.filter(pick).reduce((sum, st) => sum + ((st.endedAt ?? st.startedAt) - st.startedAt), 0);
      const finds = spent((st) => st.name.startsWith("Find"));
      const requests = run.steps.filter((st) => st.name.startsWith("Request"));
      const steps = `"Find …" steps ${finds} ms; ${requests.length} "Request …" steps ${spent((st) => st.name.startsWith("Request"))} ms`;
      return { ms, result: JSON.parse(run.result), counts, steps };
    };
    await sweep(); // warm-up: page cache, prepared statements
    const s = await sweep();
    const idleRows = (s.counts.rows.listIdleSessions ?? 0) + (s.counts.rows.listPausedBefore ?? 0);
    const rowsRead = total(s.counts.rows);
    const wanted = stats.idle + stats.pausedPastArchive;
    row(
      `idle sweep, ${fmtN(SESSIONS)} sessions (${s.result.hibernate.length} to hibernate, ${s.result.archive.length} to archive, ${s.result.flush.length} to flush)`,
      fmtMs(s.ms),
      "< 1 s",
      s.ms < 1000 && s.result.hibernate.length > 0,
      `one whole run after a warm-up; ${s.steps}`,
    );
    row(
      "store rows read per sweep",
      fmtN(rowsRead),
      `only idle rows (${fmtN(wanted)} idle or past archive + their pending changes)`,
      idleRows === wanted && rowsRead - idleRows <= wanted * 2,
      `${breakdown(s.counts)}; flush step plans: ${plans.unsavedGlobal}; ${plans.unsavedOwn}`,
    );

    const caller = (principal) => createCaller(createContextInner({ deps: runtime, principal }));
    const timed = async (fn) => {
      const times = [];
      let result;
      counts = newCounts();
      for (let k = 0; k < 5; k++) {
        const started = performance.now();
        result = await fn();
        times.push(performance.now() - started);
      }
      return { ms: median(times), result, rowsPerCall: Math.round(total(counts.rows) / 5) };
    };
    const ops = caller({ userId: "ops", role: "operator" });
    const user = caller({ userId: `owner-${Math.min(7, OWNERS - 1)}`, role: "user" });
    for (const [label, fn, plan] of [
      ["sessions.list (operator, default limit 100)", () => ops.sessions.list(), plans.listAll],
      ["sessions.list (one user, 100 sessions)", () => user.sessions.list(), plans.listOwner],
      ["overview.get (operator)", () => ops.overview.get(), plans.listAll],
      ["overview.get (one user)", () => user.overview.get(), plans.listOwner],
    ]) {
      const r = await timed(fn);
      const n = Array.isArray(r.result) ? `; ${r.result.length} sessions` : "";
      row(label, fmtMs(r.ms), "< 100 ms", r.ms < 100, `median of 5; ${fmtN(r.rowsPerCall)} store rows returned per call${n}; sessions query plan: ${plan}`);
    }

    // Hourly runs until one reaches the last session: each run is bounded (RETENTION_MAX_PARTS) and
    // goes on where the previous one stopped (the store's job cursor).
    const runs = [];
    counts = newCounts();
    for (let k = 0; k < 10; k++) {
      t0 = performance.now();
      const run = await runtime.engine.waitFor(await runtime.engine.tick("retention"));
      const ms = performance.now() - t0;
      if (run.status !== "completed") throw new Error(`retention ${run.status}: ${run.error}`);
      runs.push({ ms, ...JSON.parse(run.result).retention });
      if (runs.at(-1).done) break;
    }
    const covered = runs.reduce((sum, r) => sum + r.sessions, 0);
    const ret = { runs, covered, done: runs.at(-1).done, ms: runs.reduce((sum, r) => sum + r.ms, 0) };
    row(
      `retention, successive runs (${runs.map((r) => fmtN(r.sessions)).join(" + ")} = ${fmtN(covered)} of ${fmtN(SESSIONS)} sessions planned)`,
      runs.map((r) => fmtMs(r.ms)).join(" + "),
      "covers every session",
      ret.done && covered === SESSIONS && runs.slice(1).every((r) => r.resumed),
      `${runs.length} run(s), ${runs.map((r) => `${r.parts} parts`).join(", ")}, each after the first going on where the last stopped (resumed: ${runs.map((r) => r.resumed).join(", ")}); ${fmtN(total(counts.rows))} store rows read in all`,
    );
    return { seedMs, stats, plans, sweep: { ms: s.ms, result: { hibernate: s.result.hibernate.length, archive: s.result.archive.length, flush: s.result.flush.length }, counts: s.counts }, retention: ret };
  } finally {
    await runtime.close();
  }
}

// ---------------------------------------------------------------- part 2: the bucket
async function openBucket(name) {
  const dir = path.join(base, name);
  const config = loadConfig({ TORPOR_DATA_DIR: dir, TORPOR_LOG_LEVEL: "warn" });
  const opened = await openObjectStore(config.objectStore);
  const c = {};
  const objects = countingObjects(opened.objects, c);
  const { engine } = await checkpointEngineFromConfig(config.checkpoint, objects);
  return { engine, c, graceMs: config.checkpoint.gcGraceMs, reset: () => { for (const k of Object.keys(c)) delete c[k]; } };
}
const requests = (c) => ["GET", "HEAD", "LIST", "PUT", "DELETE"].filter((k) => c[k]).map((k) => `${k} ${fmtN(c[k])}`).join(", ") + (c.LIST ? ` (${fmtN(c.LISTkeys)} keys listed, ~${fmtN(c.LISTpages)} S3 LIST pages)` : "");

async function bucketPart() {
  const work = path.join(base, "workspace");
  await writeShared(work, SHARED_FILES);
  const full = await openBucket("bucket-full");
  const firstCheckpoints = [];
  let t0 = performance.now();
  for (let n = 0; n < BUCKET_SESSIONS; n++) {
    await writeOwn(work, n, OWN_FILES);
    firstCheckpoints.push((await full.engine.snapshot(localDirSource(work), { meta: { session: `s${n}` } })).checkpoint);
    if ((n + 1) % 50 === 0) await full.engine.gc({ graceMs: full.graceMs });
  }
  await full.engine.gc({ graceMs: full.graceMs });
  const buildMs = performance.now() - t0;
  console.log(`built ${fmtN(BUCKET_SESSIONS)} sessions' checkpoints (${SHARED_FILES} shared + ${OWN_FILES} own files each) in ${fmtMs(buildMs)}`);

  // A new session's first snapshot: in the full bucket, and in an empty one (a fresh bucket each time).
  const first = { full: [], empty: [] };
  for (let k = 0; k < 3; k++) {
    await writeOwn(work, BUCKET_SESSIONS + k, OWN_FILES);
    for (const which of ["full", "empty"]) {
      const b = which === "full" ? full : await openBucket(`bucket-empty-${k}`);
      b.reset();
      t0 = performance.now();
      const r = await b.engine.snapshot(localDirSource(work));
      first[which].push({ ms: performance.now() - t0, c: { ...b.c }, uploadedBytes: r.uploadedBytes });
    }
  }
  const pick = (xs) => xs.find((x) => x.ms === median(xs.map((y) => y.ms)));
  const f = pick(first.full);
  const e = pick(first.empty);
  const ratio = f.ms / e.ms;
  const describe = (x) => `${fmtMs(x.ms)}; GETs ${fmtN(x.c.GET ?? 0)} (${fmtN(x.c.GETBytes ?? 0)} B read), ${fmtN(x.uploadedBytes)} B uploaded; ${requests(x.c)}`;
  row(`first snapshot of a new session, bucket of ${fmtN(BUCKET_SESSIONS)} sessions`, fmtMs(f.ms), "—", null, describe(f));
  row("first snapshot of a new session, empty bucket", fmtMs(e.ms), "—", null, describe(e));
  row("first snapshot: full bucket / empty bucket", `${ratio.toFixed(2)}×`, "≤ 1.2×", ratio <= 1.2, "median of 3 each");

  // gc after one new checkpoint, then after every session's next checkpoint.
  await full.engine.gc({ graceMs: full.graceMs });
  await writeOwn(work, 0, OWN_FILES, 1);
  await full.engine.snapshot(localDirSource(work), { parent: firstCheckpoints[0] });
  const gcRun = async () => {
    full.reset();
    const started = performance.now();
    const r = await full.engine.gc({ graceMs: full.graceMs });
    return { ms: performance.now() - started, r, c: { ...full.c } };
  };
  const g1 = await gcRun();
  t0 = performance.now();
  for (let n = 0; n < BUCKET_SESSIONS; n++) {
    const changed = await writeOwn(work, n, OWN_FILES, 2);
    await full.engine.snapshot(localDirSource(work), { parent: firstCheckpoints[n], changedPaths: changed });
  }
  console.log(`wrote ${fmtN(BUCKET_SESSIONS)} second checkpoints in ${fmtMs(performance.now() - t0)}`);
  const g2 = await gcRun();
  const gets = (g) => g.c.GET ?? 0;
  const gcDetail = (g) => `${fmtMs(g.ms)}; manifests read ${g.r.manifestReads}; ${requests(g.c)}; deleted ${g.r.deletedObjects}`;
  // Proportional: a gc after one checkpoint costs a constant few GETs (gc/state, the generation,
  // the manifest, its log), whatever the bucket holds; after N it costs no more than N such changes.
  const proportional = g1.r.manifestReads === 1 && g2.r.manifestReads === BUCKET_SESSIONS && gets(g1) <= 10 && gets(g2) <= gets(g1) * BUCKET_SESSIONS;
  row("gc after 1 new checkpoint", `${fmtN(gets(g1))} GETs`, "∝ changed (1): ≤ 10 GETs", g1.r.manifestReads === 1 && gets(g1) <= 10, gcDetail(g1));
  row(`gc after ${fmtN(BUCKET_SESSIONS)} new checkpoints`, `${fmtN(gets(g2))} GETs`, `∝ changed (${fmtN(BUCKET_SESSIONS)}): ≤ ${fmtN(BUCKET_SESSIONS)} × the 1-checkpoint gc`, proportional, gcDetail(g2));
  return { buildMs, first, ratio, gc: [g1, g2].map((g) => ({ ms: g.ms, manifestReads: g.r.manifestReads, requests: g.c })) };
}

try {
  const store = await storePart();
  const bucket = await bucketPart();
  row("Convex adapter under convex-test", "see `npm run bench -- fleet-convex`", "rows read per call", null, "measured by bench/fleet-convex.bench.mjs (convex-test runs only inside vitest)");
  console.log(`\nFleet: ${fmtN(SESSIONS)} sessions (SQLite, embedded engine); bucket of ${fmtN(BUCKET_SESSIONS)} sessions (fs object store)\n`);
  console.log("| measure | figure | target | result | detail |");
  console.log("|---|---:|---|---|---|");
  for (const r of rows) console.log(`| ${r.measure} | ${r.figure} | ${r.target} | ${r.pass === null ? "–" : r.pass === "SKIP" ? "SKIP" : r.pass ? "PASS" : "FAIL"} | ${r.detail} |`);
  console.log(`\nquery plans: ${Object.entries(store.plans).map(([k, v]) => `${k}: ${v}`).join(" | ")}`);
  const out = process.env.FLEET_JSON ?? "bench-output/fleet.json";
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ sessions: SESSIONS, bucketSessions: BUCKET_SESSIONS, rows, store, bucket }, null, 2));
} finally {
  rmSync(base, { recursive: true, force: true });
}
