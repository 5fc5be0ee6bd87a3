/**
 * Idle policy: when a running session counts as idle, and which idle sessions a sweep takes.
 *
 * Terms: a session's *idle deadline* is lastActivityAt + idleTimeoutMs (the row's idleAt). A
 * *gap* is the time between two recorded activities of one session. A policy decides the
 * timeout: `fixed` is one number; `adaptive` learns it from the session's own gaps, because
 * people differ in how long their short breaks are, and a timeout just past someone's longest
 * usual break sleeps through lunch and the night as surely as a 10-minute one, minutes sooner.
 *
 * Everything here is pure: the idle sweep (src/workflows/idle-sweep.ts) and the fleet simulator
 * (bench/idle-policy.bench.ts) call the same functions.
 */
import { idleDeadline, isIdle } from "./deadlines";
import type { ActivityKind, Session } from "./types";

export type IdlePolicy =
  | { kind: "fixed"; timeoutMs: number }
  | {
      kind: "adaptive";
      /** Never sleep sooner than this after the last activity. */
      minMs: number;
      /** Never later: also the timeout until enough gaps are known. */
      maxMs: number;
      /** The share of the session's short gaps (≤ maxMs) the timeout must outlast, e.g. 0.98. */
      quantile: number;
      /** Added to that quantile (the bucket's upper edge): a break a little longer than usual. */
      marginMs: number;
      /** Short gaps needed before the learned timeout replaces maxMs. */
      minSamples: number;
      /**
       * The timeout when the last recorded activity was not a presence ping (a file write or an
       * API call with nobody at the editor: an agent or a script). Its end is not one of the
       * user's breaks: they come back when they think the agent is done, not after their usual
       * pause. Unset: the learned timeout applies after every kind.
       */
      unattendedMs?: number;
    };

/**
 * Gaps at least this long are breaks; shorter ones are the rhythm of work (pings every 30 s, a
 * file save) and say nothing about how long a break lasts.
 */
export const MIN_GAP_MS = 60_000;

/** Upper edges of the gap histogram's buckets (ms); a last bucket holds everything longer. */
export const GAP_EDGES_MS: readonly number[] = [1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5, 10, 12, 15, 20, 30].map((m) => m * 60_000);

/** Counts are halved once they sum past this: recent habits outweigh old ones. */
export const GAP_HALF_LIFE_COUNT = 200;

/** A session's break history: counts per GAP_EDGES_MS bucket, plus one for longer gaps. */
export interface GapStats {
  counts: number[];
}

export function emptyGapStats(): GapStats {
  return { counts: new Array<number>(GAP_EDGES_MS.length + 1).fill(0) };
}

/** The stats after one more gap; gaps shorter than MIN_GAP_MS leave them as they are. */
export function recordGap(stats: GapStats, gapMs: number): GapStats {
  if (!(gapMs >= MIN_GAP_MS)) return stats;
  let bucket = GAP_EDGES_MS.findIndex((edge) => gapMs <= edge);
  if (bucket < 0) bucket = GAP_EDGES_MS.length;
  const counts = stats.counts.slice();
  counts[bucket] = (counts[bucket] ?? 0) + 1;
  const total = counts.reduce((a, b) => a + b, 0);
  return { counts: total > GAP_HALF_LIFE_COUNT ? counts.map((c) => c / 2) : counts };
}

/**
 * The timeout `policy` gives a session with these gap stats whose last recorded activity was of
 * kind `lastKind` (the row's lastActivityKind; omitted: a ping).
 */
export function timeoutFor(policy: IdlePolicy, stats: GapStats | null, lastKind: ActivityKind = "ping"): number {
  switch (policy.kind) {
    case "fixed":
      return policy.timeoutMs;
    case "adaptive": {
      if (lastKind !== "ping" && policy.unattendedMs !== undefined) return policy.unattendedMs;
      if (!stats) return policy.maxMs;
      // Only gaps the longest timeout would bridge tell us about breaks; longer ones are
      // lunch and nights, which every timeout sleeps through.
      const short: number[] = [];
      for (let i = 0; i < GAP_EDGES_MS.length; i++) {
        if (GAP_EDGES_MS[i]! > policy.maxMs) break;
        short.push(stats.counts[i] ?? 0);
      }
      const total = short.reduce((a, b) => a + b, 0);
      if (total < policy.minSamples) return policy.maxMs;
      let seen = 0;
      for (let i = 0; i < short.length; i++) {
        seen += short[i]!;
        if (seen >= policy.quantile * total) {
          return Math.min(policy.maxMs, Math.max(policy.minMs, GAP_EDGES_MS[i]! + policy.marginMs));
        }
      }
      return policy.maxMs;
    }
    default: {
      const never: never = policy;
      throw new Error(`Unknown idle policy ${JSON.stringify(never)}`);
    }
  }
}

// Kept here for the callers that know it as part of the idle policy (the simulator, tests).
export { idleDeadline } from "./deadlines";

/**
 * What one sweep takes: the running sessions past their idle deadline, the longest overdue
 * first, at most `limit` (the next sweep takes the rest). The stores' (state, idleAt) index
 * query returns exactly this set; the sweep filters its answer once more through this function,
 * so a row whose idleAt lags its timeout (an older row, a concurrent write) is not hibernated early.
 */
export function selectIdle<S extends Pick<Session, "state" | "lastActivityAt" | "idleTimeoutMs">>(
  sessions: readonly S[],
  now: number,
  limit: number,
): S[] {
  return sessions
    .filter((s) => isIdle(s, now))
    .sort((a, b) => idleDeadline(a) - idleDeadline(b))
    .slice(0, limit);
}
