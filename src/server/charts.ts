/**
 * The overview's chart series, from the same bounded reads as its numbers (readOverview): pure
 * functions over the sessions and their newest completed runs.
 * - fleet: sessions per state now (a bar per state).
 * - savedPerDay: sandbox-hours asleep per UTC day over the last CHART_DAYS days (each sleep
 *   interval split at midnight), with their price at the configured hourly rate.
 * - latency: how many pause / resume / restore runs took how long, in fixed buckets.
 */
import { isTerminal } from "../core/state-classes";
import type { RunRecord, Session, SessionState } from "../core/types";
import { runKind, sleepIntervals, type LatencyKind } from "./stats";

export const CHART_DAYS = 14;
const DAY = 86_400_000;

/** Upper bounds of the latency buckets, in ms; the last bucket is everything slower. */
export const LATENCY_BUCKETS = [500, 1000, 2000, 5000, 10_000, 30_000, 60_000] as const;

export interface Charts {
  fleet: Array<{ state: SessionState; sessions: number }>;
  savedPerDay: Array<{ day: string; hours: number; money: number }>;
  latency: Array<{ bucket: string } & Record<LatencyKind, number>>;
}

const bucketLabel = (i: number): string => {
  const s = (ms: number) => (ms < 1000 ? `${ms} ms` : `${ms / 1000} s`);
  if (i === 0) return `< ${s(LATENCY_BUCKETS[0])}`;
  if (i === LATENCY_BUCKETS.length) return `≥ ${s(LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]!)}`;
  return `${s(LATENCY_BUCKETS[i - 1]!)}–${s(LATENCY_BUCKETS[i]!)}`;
};

export function computeCharts(
  sessions: Session[],
  runs: RunRecord[],
  now: number,
  pricePerHour: number,
  states: readonly SessionState[],
): Charts {
  const byState = new Map<SessionState, number>();
  for (const s of sessions) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
  const fleet = states.filter((s) => !isTerminal(s)).map((state) => ({ state, sessions: byState.get(state) ?? 0 }));

  const today = Math.floor(now / DAY) * DAY;
  const first = today - (CHART_DAYS - 1) * DAY;
  const asleep = new Array<number>(CHART_DAYS).fill(0);
  const runsBySession = new Map<string, RunRecord[]>();
  for (const run of runs) if (run.sessionId !== null) runsBySession.set(run.sessionId, [...(runsBySession.get(run.sessionId) ?? []), run]);
  for (const s of sessions) {
    for (const [from, to] of sleepIntervals(s, runsBySession.get(s.id) ?? [], now)) {
      for (let at = Math.max(from, first); at < to; ) {
        const dayStart = Math.floor(at / DAY) * DAY;
        const end = Math.min(to, dayStart + DAY);
        asleep[(dayStart - first) / DAY]! += end - at;
        at = end;
      }
    }
  }
  const savedPerDay = asleep.map((ms, i) => {
    const hours = ms / 3600_000;
    return { day: new Date(first + i * DAY).toISOString().slice(0, 10), hours, money: hours * pricePerHour };
  });

  const latency = Array.from({ length: LATENCY_BUCKETS.length + 1 }, (_, i) => ({ bucket: bucketLabel(i), pause: 0, resume: 0, restore: 0 }));
  for (const run of runs) {
    const kind = runKind(run);
    if (kind === "other" || run.status !== "completed" || run.endedAt === null) continue;
    const ms = run.endedAt - run.startedAt;
    const i = LATENCY_BUCKETS.findIndex((limit) => ms < limit);
    latency[i === -1 ? LATENCY_BUCKETS.length : i]![kind] += 1;
  }
  return { fleet, savedPerDay, latency };
}
