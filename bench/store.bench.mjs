/**
 * Activity coalescing on the embedded SQLite store: 1,000 pings a second over 5,000 running
 * sessions, with the default 15 s coalescing window, against a baseline with no coalescing
 * (coalesceMs 0) measured in the same run.
 *
 * Time is simulated: ping i carries the timestamp start + i ms (1,000 per simulated second), so
 * the write counts are exact and repeatable; the pings are sent as fast as the store takes them,
 * and the wall-clock rate shows the headroom over the 1,000/s load. Sessions are picked by a
 * seeded random generator. The check that matters: no session is written twice within one window.
 *
 * Run: node bench/store.bench.mjs [seconds=60]   (loads the TypeScript sources through tsx)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { register } from "tsx/esm/api";

register();
const { openSqliteStore } = await import("../src/store/sqlite.ts");

const SESSIONS = 5000;
const RATE = 1000; // pings per simulated second
const SECONDS = Number(process.argv[2] ?? 60);
const WINDOW_MS = 15_000;
const START = 1_700_000_000_000;

/** mulberry32: a small seeded generator, so both runs see the same ping sequence. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function run(label, coalesceMs, dir) {
  const store = openSqliteStore({ file: path.join(dir, `${label}.sqlite`) });
  const ids = [];
  for (let i = 0; i < SESSIONS; i++) {
    const s = await store.createSession({
      ownerId: `owner-${i % 50}`, provider: "local", template: "base", idleTimeoutMs: 600_000, sandboxId: `sbx-${i}`, now: START,
    });
    ids.push(s.id);
  }
  const next = random(42);
  const pings = RATE * SECONDS;
  const writesAt = new Map(); // session → times of its writes
  let writes = 0;
  const began = process.hrtime.bigint();
  for (let i = 0; i < pings; i++) {
    const id = ids[Math.floor(next() * SESSIONS)];
    const at = START + Math.floor((i * 1000) / RATE) + 1;
    const r = await store.recordActivity(id, { at, kind: "ping", coalesceMs });
    if (r.written) {
      writes++;
      const list = writesAt.get(id) ?? [];
      list.push(at);
      writesAt.set(id, list);
    }
  }
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  await store.close();

  // Most writes of one session inside any fixed 15 s window, and the shortest gap between two.
  let maxPerWindow = 0;
  let minGap = Infinity;
  for (const times of writesAt.values()) {
    const perWindow = new Map();
    for (const t of times) {
      const w = Math.floor((t - START) / WINDOW_MS);
      perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
    }
    maxPerWindow = Math.max(maxPerWindow, ...perWindow.values());
    for (let k = 1; k < times.length; k++) minGap = Math.min(minGap, times[k] - times[k - 1]);
  }
  return {
    label,
    coalesceMs,
    pings,
    wallSeconds: seconds,
    pingsPerSecond: pings / seconds,
    writes,
    writesPerSimSecond: writes / SECONDS,
    maxWritesPerSessionPerWindow: maxPerWindow,
    minGapBetweenWritesMs: minGap === Infinity ? null : minGap,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), "torpor-bench-store-"));
try {
  const baseline = await run("baseline (coalesceMs 0)", 0, dir);
  const coalesced = await run(`coalesced (coalesceMs ${WINDOW_MS})`, WINDOW_MS, dir);
  const fmt = (n, d = 0) => (n === null ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
  console.log(`\nStore activity coalescing: ${fmt(RATE)} pings/s (simulated) over ${fmt(SESSIONS)} sessions for ${SECONDS} s, SQLite\n`);
  const rows = [baseline, coalesced].map((r) => ({
    run: r.label,
    pings: fmt(r.pings),
    "pings/s (wall)": fmt(r.pingsPerSecond),
    "store writes": fmt(r.writes),
    "writes/s (simulated)": fmt(r.writesPerSimSecond, 1),
    "max writes/session/15 s window": fmt(r.maxWritesPerSessionPerWindow),
    "min gap between writes (ms)": fmt(r.minGapBetweenWritesMs),
  }));
  console.table(rows);
  const ratio = baseline.writes / Math.max(coalesced.writes, 1);
  const speed = coalesced.pingsPerSecond / baseline.pingsPerSecond;
  console.log(`writes: baseline / coalesced = ${ratio.toFixed(2)}x fewer writes; ping throughput coalesced / baseline = ${speed.toFixed(2)}x`);
  const ok = coalesced.maxWritesPerSessionPerWindow <= 1 && (coalesced.minGapBetweenWritesMs ?? Infinity) > WINDOW_MS;
  console.log(ok ? "OK: at most one write per session per coalescing window" : "FAIL: a session was written twice within one window");
  mkdirSync("bench-output", { recursive: true });
  writeFileSync("bench-output/store.json", JSON.stringify({ sessions: SESSIONS, rate: RATE, seconds: SECONDS, baseline, coalesced, ratio, speed }, null, 2));
  if (!ok) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
