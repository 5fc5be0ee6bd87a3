/**
 * The dashboard's reads, bounded whatever the size of the fleet or its history: each is a fixed
 * number of store calls, each call one bounded, index-backed read (on Convex, one query well
 * inside the per-transaction limits of 4,096 index ranges and 32,000 documents).
 */
import type { Config } from "../core/config";
import { SESSION_STATES, type Session } from "../core/types";
import type { StateStore } from "../store/types";
import { computeCharts, type Charts } from "./charts";
import { computeOverview, type Overview } from "./stats";
import { sessionViewOf, type SessionView } from "./views";

/** Sessions the overview counts (the newest; a fleet beyond this shows its newest 1,000). */
export const OVERVIEW_SESSIONS = 1000;
/** Completed runs the overview's latencies and hours saved are computed from (the newest). */
export const OVERVIEW_RUNS = 2000;

export async function readOverview(store: StateStore, config: Config, ownerId: string | undefined, now: number): Promise<Overview & { charts: Charts }> {
  const sessions = await store.listSessions({ ownerId, limit: OVERVIEW_SESSIONS });
  const summaries = new Map((await store.sessionSummaries(sessions)).map((s) => [s.sessionId, s] as const));
  const ids = new Set(sessions.map((s) => s.id));
  // Only completed runs count (sleep intervals and latencies), and none needs its steps.
  const runs = (await store.listRuns({ status: "completed", limit: OVERVIEW_RUNS, steps: false })).filter(
    (r) => r.sessionId !== null && ids.has(r.sessionId),
  );
  return {
    ...computeOverview(config, sessions, summaries, runs, now),
    charts: computeCharts(sessions, runs, now, config.dashboard.pricePerHour, SESSION_STATES),
  };
}

/**
 * Views of many sessions with one summary read for all of them. unsavedSince is the row's stored
 * value (no pending-change read per row, unlike the one-session view); null when none is stored.
 */
export async function sessionViews(store: StateStore, sessions: Session[]): Promise<SessionView[]> {
  const summaries = await store.sessionSummaries(sessions);
  return sessions.map((s, i) => ({ ...sessionViewOf(s, summaries[i]!), unsavedSince: s.unsavedSince ?? null }));
}
