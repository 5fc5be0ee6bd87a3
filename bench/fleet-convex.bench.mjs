/**
 * Fleet benchmark, Convex side (issue 12): what the fleet's queries read on the Convex adapter, per
 * call, under convex-test with transactionLimits on (32,000 documents, 4,096 index ranges, 16 MiB
 * read per function, as a deployment enforces), with the issue's targets and PASS/FAIL per row.
 *
 * convex-test needs vite's import.meta.glob, so the measuring runs inside vitest, in
 * bench/convex/fleet-convex.vitest.ts with its own config (bench/convex/vitest.config.ts, not part
 * of `npm test`); this file starts it and prints the table from the JSON it writes. The fleet
 * (bench/convex/seed.ts) is bench/fleet/seed.mjs's mix in Convex tables: 10 % running (1 % of
 * those idle), the rest paused (0.1 % past the archive period) or archived, some running sessions
 * with pending changes due for a flush or not yet due. It is measured at FLEET_CONVEX_SMALL (1,000)
 * sessions, grown to FLEET_CONVEX_SESSIONS (10,000) and measured again, through createConvexStore:
 * the idle sweep's reads (its own arguments), one retention page (listSessionsPage, 500), and the
 * dashboard's sessions list and overview (src/server/dashboard.ts). FLEET_CONVEX_RUNS (5,000)
 * completed runs feed the overview.
 *
 * "Documents read" is convex-test's own transaction-limit counter (bench/convex/read-metrics.ts):
 * every document a function received from an index range or a get. convex-test evaluates every
 * index range by scanning the table in memory, so its times say nothing about a deployment and
 * are not shown (they are in the JSON).
 * Run: npm run bench -- fleet-convex   (settings above as environment variables; FLEET_CONVEX_JSON=<file>)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

const out = path.resolve(process.env.FLEET_CONVEX_JSON ?? "bench-output/fleet-convex.json");
mkdirSync(path.dirname(out), { recursive: true });
const started = performance.now();
// vitest's own report goes to stderr: stdout keeps only this benchmark's table.
const run = spawnSync("npx", ["vitest", "run", "--config", "bench/convex/vitest.config.ts"], {
  stdio: ["ignore", 2, 2],
  env: { ...process.env, FLEET_CONVEX_JSON: out },
});
if (run.status !== 0) {
  console.error(`bench/convex/fleet-convex.vitest.ts failed (exit ${run.status ?? run.signal})`);
  process.exit(1);
}
const r = JSON.parse(readFileSync(out, "utf8"));
const [small, large] = r.stages;
const fmtN = (n) => n.toLocaleString("en-US");
const both = (f) => `${fmtN(f(small))} → ${fmtN(f(large))}`;
const docs = (m) => m.calls.reduce((sum, c) => sum + c.documentsRead, 0);
const perCall = (m) => {
  const byFn = new Map();
  for (const c of m.calls) {
    const e = byFn.get(c.fn) ?? { calls: 0, docs: 0, ranges: 0 };
    byFn.set(c.fn, { calls: e.calls + 1, docs: e.docs + c.documentsRead, ranges: e.ranges + c.indexRanges });
  }
  return [...byFn].map(([fn, e]) => `${fn} ${e.calls > 1 ? `${fmtN(e.calls)} calls, ` : ""}${fmtN(e.docs)} docs/${fmtN(e.ranges)} index ranges`).join(" + ");
};
const failed = (name) => [small, large].map((s) => s.measures[name].error).filter(Boolean);
const rows = [];
const row = (measure, figure, target, pass, detail) => rows.push({ measure, figure, target, pass, detail });
const sizes = `${fmtN(r.sizes[0])} → ${fmtN(r.sizes[1])} sessions`;

// The sweep: each read returns exactly the rows that are due, at both sizes.
const sweepRow = (name, label, expected, expectedLabel) => {
  const errors = failed(name);
  const got = [small, large].map((s) => docs(s.measures[name]));
  const want = [small, large].map(expected);
  row(
    `sweep: ${label}, ${sizes}`,
    `${both((s) => docs(s.measures[name]))} docs`,
    `= ${expectedLabel} (${both(expected)})`,
    errors.length === 0 && got.every((g, k) => g === want[k]),
    errors.length ? `refused: ${errors.join("; ")}` : `${perCall(large.measures[name])} at ${fmtN(r.sizes[1])}`,
  );
};
sweepRow("listIdleSessions", `listIdleSessions(now, ${r.sweepBatch})`, (s) => s.stats.idle, "idle rows");
sweepRow("listPausedBefore", `listPausedBefore(now − archive period, ${r.sweepBatch})`, (s) => s.stats.pausedPastArchive, "rows past the archive period");
sweepRow("listUnsavedSessions", "listUnsavedSessions(now, flush interval)", (s) => s.stats.dueFlush, `due flushes, not the ${both((s) => s.stats.pendingNotDue)} pending ones not yet due`);
sweepRow("listPendingChanges", "listPendingChanges of each idle session (its sleep reason)", () => 0, "the idle sessions' pending changes");
const sweepNames = ["listIdleSessions", "listPausedBefore", "listUnsavedSessions", "listPendingChanges"];
const sweepDocs = (s) => sweepNames.reduce((sum, n) => sum + docs(s.measures[n]), 0);
const due = (s) => s.stats.idle + s.stats.pausedPastArchive + s.stats.dueFlush;
row(
  `sweep: documents read per sweep, ${sizes}`,
  `${both(sweepDocs)} docs`,
  `only due rows: idle + past archive + due flushes (${both(due)})`,
  sweepNames.every((n) => failed(n).length === 0) && [small, large].every((s) => sweepDocs(s) === due(s)),
  `${both((s) => sweepNames.reduce((sum, n) => sum + s.measures[n].calls.length, 0))} Convex calls; fleet ${both((s) => s.stats.running)} running, ${both((s) => s.stats.paused)} paused, ${both((s) => s.stats.archived)} archived`,
);

// Lists and overview: bounded by their limits, and once the small fleet fills a call's limit, the
// same documents per call at ten times the fleet.
const boundedRow = (name, label, requested, cap) => {
  const errors = failed(name);
  const [a, b] = [small, large].map((s) => docs(s.measures[name]));
  const filled = small.measures[name].result?.sessions >= requested;
  row(
    `${label}, ${sizes}`,
    `${fmtN(a)} → ${fmtN(b)} docs in ${both((s) => s.measures[name].calls.length)} calls`,
    `bounded: ≤ ${fmtN(cap)}, not growing with the fleet`,
    errors.length === 0 && b <= cap && (!filled || b === a),
    errors.length
      ? `refused: ${errors.join("; ")}`
      : `${perCall(large.measures[name])} at ${fmtN(r.sizes[1])}${filled ? "" : `; the small fleet holds fewer than the ${fmtN(requested)} sessions asked for`}`,
  );
};
const perOwner = Math.min(r.list, 100);
boundedRow("listSessionsPage", `listSessionsPage (one retention page of ${r.page})`, r.page, r.page);
boundedRow("sessionsListOperator", `sessions list, operator (listSessions ${r.list} + sessionViews)`, r.list, 2 * r.list);
boundedRow("sessionsListUser", `sessions list, one user (${r.user}, 100 sessions)`, perOwner, 2 * r.list);
const overviewCap = 2 * r.overviewSessions + r.overviewRuns;
boundedRow("overviewOperator", `overview, operator (readOverview: ${fmtN(r.overviewSessions)} sessions, summaries, ${fmtN(r.overviewRuns)} runs)`, r.overviewSessions, overviewCap);
boundedRow("overviewUser", `overview, one user (${r.user})`, 100, overviewCap);

// Every call within the transaction limits (convex-test would have refused it otherwise).
const calls = r.stages.flatMap((s) => Object.values(s.measures).flatMap((m) => m.calls));
const max = (k) => Math.max(...calls.map((c) => c[k]));
const refused = calls.filter((c) => c.error);
row(
  `transaction limits, every call above (${fmtN(calls.length)} calls)`,
  `max ${fmtN(max("documentsRead"))} docs, ${fmtN(max("indexRanges"))} index ranges, ${(max("bytesRead") / 2 ** 20).toFixed(2)} MiB`,
  `≤ ${fmtN(r.limits.documentsRead)} docs, ${fmtN(r.limits.indexRanges)} ranges, 16 MiB; none refused`,
  refused.length === 0 && max("documentsRead") <= r.limits.documentsRead && max("indexRanges") <= r.limits.indexRanges && max("bytesRead") <= r.limits.bytesRead,
  refused.length ? `refused: ${refused.map((c) => `${c.fn}: ${c.error}`).join("; ")}` : "per top-level query, from convex-test's TransactionMetricsTracker",
);

console.log(
  `\nFleet on Convex (convex-test, transactionLimits on): ${sizes}, ${fmtN(r.runs)} runs; ${((performance.now() - started) / 1000).toFixed(0)} s in all. ` +
    "Docs = documents each function read, counted by convex-test's transaction-limit counter (what it checks against 32,000).\n",
);
console.log("| measure | figure | target | result | detail |");
console.log("|---|---:|---|---|---|");
for (const x of rows) console.log(`| ${x.measure} | ${x.figure} | ${x.target} | ${x.pass ? "PASS" : "FAIL"} | ${x.detail} |`);
process.exit(rows.every((x) => x.pass) ? 0 : 1);
