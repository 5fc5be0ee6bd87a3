// Fleet simulator for the idle policy (`npm run bench -- idle-policy`): replays activity traces
// through the real session rules (src/store/rules.ts over src/core/lifecycle.ts: coalesced activity
// writes, leases, transitions, wake-up) and the sweep's own selection (selectIdle in
// src/core/idle-policy.ts, which the idle sweep uses) in simulated time, for several policies side
// by side on the same traces. No sandbox, store or engine runs: their costs are the measured
// figures below.
//
// Traces: bench/fixtures/traces.ts (its header documents the model), or IDLE_TRACE=<file.jsonl>.
// Knobs: IDLE_SEED (1), IDLE_SESSIONS (100), IDLE_DAYS (14); IDLE_EXPERIMENT='[["name", sweepMin,
// <IdlePolicy JSON>], ...]' adds policies, IDLE_ONLY=name,name runs only those (and the baseline).
//
// A wake a user waited for: one whose latency (focus ping -> the first call that needs the sandbox
// answered) is above PERCEPTIBLE_MS, the limit under which a response feels instant (0.1 s: Card,
// Robertson and Mackinlay 1991; Nielsen's response-time limits). Latencies per provider: the local
// provider's wake from pause is measured by bench/wake.bench.mjs (median of 10 rounds through the
// whole embedded system); E2B's is its documented figure ("about 1 second to resume"), not measured
// here (no credentials). A wake from archive (a restore) is always waited for. The simulation runs
// with the local latencies; E2B's longer resume changes billed time by under a second per wake.
//
// The simulation itself (terms: billed, idle, break, wake) is bench/fixtures/idle-simulator.ts.
import { readFileSync } from "node:fs";
import { defaultIdleTimeoutMs } from "../src/core/config";
import type { IdlePolicy } from "../src/core/idle-policy";
import { BREAK_MAX_MS, DAY, HOUR, IN_USE_MS, MIN, PERCEPTIBLE_MS, RESUME_ARCHIVED_MS, simulate, type PolicySpec, type Totals } from "./fixtures/idle-simulator";
import { generateTraces, parseTraceLines, TRACE_EPOCH, type TraceKind } from "./fixtures/traces";

interface Provider {
  name: "local" | "e2b";
  /** Focus ping -> first sandbox call answered, for a paused session. */
  pausedWakeMs: number;
  source: string;
  /** The policy Torpor's default follows on this provider (src/core/config.ts defaultIdleTimeoutMs). */
  defaultPolicy: string;
}
const PROVIDERS: Provider[] = [
  { name: "local", pausedWakeMs: 77, source: "bench/wake.bench.mjs, median of 10, 2026-12-04", defaultPolicy: "default/local" },
  { name: "e2b", pausedWakeMs: 1000, source: "E2B's docs: about 1 s to resume; not measured here", defaultPolicy: "default/e2b" },
];
const ALL: ReadonlySet<TraceKind> = new Set(["ping", "api", "file"]);
const ADAPTIVE: IdlePolicy = { kind: "adaptive", minMs: 2 * MIN, maxMs: 10 * MIN, quantile: 0.98, marginMs: 30_000, minSamples: 10 };
const POLICIES: PolicySpec[] = [
  { name: "seed-001", description: "5-min cron, 10-min timeout", sweepMs: 5 * MIN, policy: { kind: "fixed", timeoutMs: 10 * MIN }, kinds: ALL },
  {
    name: "seed-001/no-files",
    description: "same, file writes not counted",
    sweepMs: 5 * MIN,
    policy: { kind: "fixed", timeoutMs: 10 * MIN },
    kinds: new Set(["ping", "api"]),
  },
  // What src/core/config.ts ships when TORPOR_IDLE_TIMEOUT_MS is unset, per provider.
  ...(["local", "e2b"] as const).map((provider) => ({
    name: `default/${provider}`,
    description: `1-min sweep, ${defaultIdleTimeoutMs(provider) / MIN}-min timeout (Torpor's default on ${provider})`,
    sweepMs: MIN,
    policy: { kind: "fixed", timeoutMs: defaultIdleTimeoutMs(provider) } as IdlePolicy,
    kinds: ALL,
  })),
  { name: "fixed-3m", description: "1-min sweep, 3-min timeout", sweepMs: MIN, policy: { kind: "fixed", timeoutMs: 3 * MIN }, kinds: ALL },
  { name: "fixed-5m", description: "1-min sweep, 5-min timeout", sweepMs: MIN, policy: { kind: "fixed", timeoutMs: 5 * MIN }, kinds: ALL },
  { name: "adaptive", description: "1-min sweep, q98 of own breaks +30 s, 2-10 min", sweepMs: MIN, policy: ADAPTIVE, kinds: ALL },
  {
    name: "adaptive/unattended",
    description: "1-min sweep, q98 of own breaks +60 s, 2-10 min; 12 min after a write with no ping",
    sweepMs: MIN,
    policy: { ...ADAPTIVE, marginMs: MIN, unattendedMs: 12 * MIN },
    kinds: ALL,
  },
  ...(process.env.IDLE_EXPERIMENT ? (JSON.parse(process.env.IDLE_EXPERIMENT) as [string, number, IdlePolicy][]).map(([name, sweepMin, policy]) => ({ name, description: JSON.stringify(policy), sweepMs: sweepMin * MIN, policy, kinds: ALL })) : []),
];
const BASELINE = "seed-001";

// ---- run ----
const seed = Number(process.env.IDLE_SEED ?? 1);
const nSessions = Number(process.env.IDLE_SESSIONS ?? 100);
const days = Number(process.env.IDLE_DAYS ?? 14);
const traceFile = process.env.IDLE_TRACE;
const events = traceFile
  ? parseTraceLines(readFileSync(traceFile, "utf8"))
  : generateTraces({ seed, sessions: nSessions, days });
if (events.length === 0) throw new Error("empty trace");
const start = traceFile ? Math.floor(events[0]!.at / DAY) * DAY : TRACE_EPOCH;
const end = traceFile ? Math.ceil((events[events.length - 1]!.at + 1) / DAY) * DAY : TRACE_EPOCH + days * DAY;
const fleet = new Set(events.map((e) => e.session)).size;
const spanDays = (end - start) / DAY;
const sessionDays = fleet * spanDays;
console.log(
  `${traceFile ? `trace ${traceFile}` : `generated trace, seed ${seed}`}: ${fleet} sessions x ${spanDays} days, ${events.length} events ` +
    `(${["ping", "api", "file"].map((k) => `${events.filter((e) => e.kind === k).length} ${k}`).join(", ")})`,
);

const wall = performance.now();
const results = POLICIES.filter((p) => !process.env.IDLE_ONLY || [BASELINE, ...process.env.IDLE_ONLY.split(",")].includes(p.name)).map((spec) => ({ spec, t: simulate(spec, events, start, end, PROVIDERS[0]!.pausedWakeMs) }));
const h = (ms: number) => ms / HOUR;
const perSD = (n: number) => n / sessionDays;
const base = results.find((r) => r.spec.name === BASELINE)!.t;
/** Wakes a user waited for on a provider: every wake from archive, and wakes from pause when they are perceptible there. */
const waited = (t: Totals, p: Provider) => t.wakesArchived + (p.pausedWakeMs > PERCEPTIBLE_MS ? t.wakes - t.wakesArchived : 0);
const waitMs = (t: Totals, p: Provider) => t.wakesArchived * RESUME_ARCHIVED_MS + (t.wakes - t.wakesArchived) * p.pausedWakeMs;
// The Done-when, per policy and provider: at most half the baseline's idle hours, and no more wakes a user waited for.
const meets = (t: Totals, p: Provider) => t.idleMs <= 0.5 * base.idleMs && waited(t, p) <= waited(base, p);
const rows = results.map(({ spec, t }) => [
  spec.name,
  spec.description,
  (t.idleMs / base.idleMs).toFixed(3),
  ...PROVIDERS.map((p) => (spec.name === BASELINE ? "–" : meets(t, p) ? "PASS" : "FAIL")),
  perSD(h(t.billedMs)).toFixed(2),
  perSD(h(t.idleMs)).toFixed(2),
  perSD(h(t.awayIdleMs)).toFixed(3),
  perSD(t.wakes).toFixed(3),
  perSD(t.breakWakes).toFixed(2),
  ...PROVIDERS.map((p) => `${perSD(waited(t, p)).toFixed(3)} (${(perSD(waitMs(t, p)) / 1000).toFixed(2)} s)`),
  perSD(t.hibernations).toFixed(2),
  perSD(t.aborted).toFixed(3),
  Math.round(t.storeWrites / spanDays).toLocaleString("en"),
  Math.round((t.sweeps + t.hibernations + t.resumes) / spanDays).toLocaleString("en"),
  Math.round(t.sweepRowsRead / spanDays).toLocaleString("en"),
]);
const header = [
  "policy",
  "rule",
  `idle vs ${BASELINE}`,
  ...PROVIDERS.map((p) => `target on ${p.name} (<= 0.5x idle, <= waited wakes)`),
  "billed h/sd",
  "idle h/sd",
  "idle h/sd in away gaps",
  "wakes/sd",
  "of them after a break/sd",
  ...PROVIDERS.map((p) => `waited wakes/sd on ${p.name} (wait s/sd)`),
  "hibernations/sd",
  "aborted/sd",
  "store writes/day",
  "engine runs/day",
  "sweep rows/day",
];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => " --- ").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(
  `\nsd = session-day (${sessionDays} here). A waited wake takes longer than ${PERCEPTIBLE_MS} ms; wake latency from pause: ${PROVIDERS.map((p) => `${p.name} ${p.pausedWakeMs} ms (${p.source})`).join(", ")}; from archive ${RESUME_ARCHIVED_MS / 1000} s (README lifecycle bench);` +
    ` engine runs = sweeps + hibernate + resume runs for the whole fleet; ${results[0]!.t.wakesArchived} wakes of the baseline needed a restore. ${((performance.now() - wall) / 1000).toFixed(1)} s wall.`,
);

// The least idle time any policy can bill without waking anyone more often than the baseline: a
// clairvoyant one that sleeps at once through the K longest gaps (K = the baseline's wakes) and
// bills every other gap whole. Computed from the trace alone.
const gapIdle: number[] = [];
const lastAt = new Map<string, number>();
for (const e of events) {
  const prev = lastAt.get(e.session);
  if (prev !== undefined) gapIdle.push(Math.max(0, e.at - prev - IN_USE_MS));
  lastAt.set(e.session, e.at);
}
for (const at of lastAt.values()) gapIdle.push(Math.max(0, end - at - IN_USE_MS));
gapIdle.sort((a, b) => b - a);
const allIdle = gapIdle.reduce((a, b) => a + b, 0);
const oracleIdle = allIdle - gapIdle.slice(0, base.wakes + fleet).reduce((a, b) => a + b, 0);
// The fewest wakes with which even that clairvoyant policy halves the baseline's idle hours.
let halfK = 0;
for (let left = allIdle; left > 0.5 * base.idleMs && halfK < gapIdle.length; halfK++) left -= gapIdle[halfK]!;
console.log(
  `oracle bound: with at most ${BASELINE}'s wakes (+1 final sleep per session), a policy bills >= ${perSD(h(oracleIdle)).toFixed(2)} idle h/sd = ` +
    `${(oracleIdle / base.idleMs).toFixed(3)}x ${BASELINE}'s idle hours; to bill 0.5x it must wake >= ${perSD(Math.max(0, halfK - fleet)).toFixed(2)} times/sd ` +
    `(${(Math.max(0, halfK - fleet) / base.wakes).toFixed(2)}x ${BASELINE}'s wakes)`,
);
for (const p of PROVIDERS) {
  const chosen = results.find((r) => r.spec.name === p.defaultPolicy);
  if (!chosen) continue;
  const c = chosen.t;
  console.log(
    `\ndefault on ${p.name} (${p.defaultPolicy}) vs ${BASELINE}: idle sandbox-hours ${(c.idleMs / base.idleMs).toFixed(3)}x (target <= 0.5), in away gaps ` +
      `${(c.awayIdleMs / base.awayIdleMs).toFixed(3)}x; wakes waited for ${waited(c, p)} vs ${waited(base, p)} (wake from pause ${p.pausedWakeMs} ms) -> ${meets(c, p) ? "PASS" : "FAIL"}`,
  );
}
