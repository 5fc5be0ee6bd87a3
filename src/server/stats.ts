/**
 * The overview's numbers, computed from store rows by pure functions (tested without a store):
 * - sleep intervals: from a completed hibernate run's end to the next completed resume/restore
 *   run's end (or now, while still asleep). Their sum is the running time hibernation saved.
 * - latencies: run durations (end − start) of completed hibernate (pause), resume and restore runs.
 * - storage: logical bytes (what the latest checkpoints describe) against stored bytes (what was
 *   uploaded after content-addressed deduplication), from each session's summary (src/store/summary).
 *
 * The inputs are bounded reads (readOverview): at most OVERVIEW_SESSIONS sessions, their summaries
 * in one call, and the newest OVERVIEW_RUNS completed runs without their steps.
 */
import type { Config } from "../core/config";
import { archiveDeadline, archivesSoon } from "../core/deadlines";
import { isTerminal } from "../core/state-classes";
import type { RunRecord, Session, SessionState } from "../core/types";
import type { SessionSummary } from "../store/summary";

export type LatencyKind = "pause" | "resume" | "restore";

/**
 * What a run measured: a hibernation (pause), a resume of a paused sandbox, or a restore (the
 * restore workflow, or a resume whose result says it had to restore the checkpoint into a new
 * sandbox). A resume that found nothing to do measured nothing.
 */
export function runKind(run: Pick<RunRecord, "workflow" | "result">): LatencyKind | "other" {
  const w = run.workflow.toLowerCase();
  // An aborted hibernate (activity won) or a skipped one paused nothing: no sleep, no pause latency.
  if (w.includes("hibernate")) return resultField(run, "status") === "aborted" || resultField(run, "status") === "skipped" ? "other" : "pause";
  if (w.includes("restore")) return "restore";
  if (!w.includes("resume")) return "other";
  let rung: unknown;
  try {
    rung = run.result === null ? undefined : (JSON.parse(run.result) as { rung?: unknown }).rung;
  } catch {
    rung = undefined;
  }
  if (rung === "restored" || rung === "fresh") return "restore";
  if (rung === "already-running" || rung === "skipped") return "other";
  return "resume";
}

function resultField(run: Pick<RunRecord, "result">, field: string): unknown {
  try {
    return run.result === null ? undefined : (JSON.parse(run.result) as Record<string, unknown> | null)?.[field];
  } catch {
    return undefined;
  }
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** The periods a session spent asleep, [from, to), oldest first, from its runs (any order). */
export function sleepIntervals(session: Pick<Session, "state" | "pausedAt" | "updatedAt">, runs: RunRecord[], now: number): Array<[number, number]> {
  const events = runs
    .filter((r) => r.status === "completed" && r.endedAt !== null && runKind(r) !== "other")
    .map((r) => ({ at: r.endedAt!, sleeps: runKind(r) === "pause" }))
    .sort((a, b) => a.at - b.at);
  const out: Array<[number, number]> = [];
  let asleepSince: number | null = null;
  for (const e of events) {
    if (e.sleeps && asleepSince === null) asleepSince = e.at;
    else if (!e.sleeps && asleepSince !== null) {
      out.push([asleepSince, e.at]);
      asleepSince = null;
    }
  }
  // Not the asleep class (core/state-classes): this is the time the provider's sandbox is not
  // billed since pausedAt. Archiving counts (the sandbox stays paused while it is checkpointed);
  // failed does not (a failure has no pause time to count from).
  const sleepingNow = session.state === "paused" || session.state === "archived" || session.state === "archiving";
  asleepSince ??= sleepingNow ? session.pausedAt : null;
  const end = session.state === "deleted" ? session.updatedAt : now;
  if (asleepSince !== null && end > asleepSince) out.push([asleepSince, end]);
  return out;
}

/** Milliseconds a session spent asleep, from its runs (any order). */
export function sleptMs(session: Pick<Session, "state" | "pausedAt" | "updatedAt">, runs: RunRecord[], now: number): number {
  return Math.max(0, sleepIntervals(session, runs, now).reduce((sum, [from, to]) => sum + (to - from), 0));
}

export interface Warning {
  sessionId: string;
  severity: "info" | "warn" | "error";
  message: string;
}

export function warningsFor(session: Session, config: Config, now: number): Warning[] {
  const out: Warning[] = [];
  const { archiveAfterMs } = config.lifecycle;
  const archiveAt = archiveDeadline(session, archiveAfterMs);
  if (archivesSoon(archiveAt, archiveAfterMs, now)) {
    const left = archiveAt - now;
    out.push({
      sessionId: session.id,
      severity: "info",
      message: `paused sandbox is archived ${left <= 0 ? "at the next sweep" : `in ${Math.ceil(left / 60_000)} min`}`,
    });
  }
  if (session.lease !== null && session.lease.expiresAt <= now) {
    out.push({ sessionId: session.id, severity: "warn", message: `lease for ${session.lease.operation} expired: the workflow stalled` });
  }
  if (session.state === "failed") {
    out.push({ sessionId: session.id, severity: "error", message: `failed: ${session.lastError ?? "no error recorded"}` });
  }
  // Paused and archived only: a failed session may have failed before its first checkpoint.
  if ((session.state === "paused" || session.state === "archived") && session.latestCheckpointId === null) {
    out.push({ sessionId: session.id, severity: "error", message: "asleep without a committed checkpoint" });
  }
  return out;
}

export interface Overview {
  now: number;
  sessionsByState: Partial<Record<SessionState, number>>;
  sessions: number;
  storage: { logicalBytes: number; describedBytes: number; storedBytes: number; checkpoints: number };
  hoursSaved: number;
  moneySaved: number;
  pricePerHour: number;
  latencies: Record<LatencyKind, { count: number; p50: number | null; p95: number | null }>;
  warnings: Warning[];
  engine: Config["workflowEngine"]["kind"];
}

export function computeOverview(
  config: Config,
  sessions: Session[],
  summaries: Map<string, SessionSummary>,
  runs: RunRecord[],
  now: number,
): Overview {
  const sessionsByState: Partial<Record<SessionState, number>> = {};
  const storage = { logicalBytes: 0, describedBytes: 0, storedBytes: 0, checkpoints: 0 };
  let slept = 0;
  const runsBySession = new Map<string, RunRecord[]>();
  for (const run of runs) {
    if (run.sessionId !== null) runsBySession.set(run.sessionId, [...(runsBySession.get(run.sessionId) ?? []), run]);
  }
  for (const s of sessions) {
    sessionsByState[s.state] = (sessionsByState[s.state] ?? 0) + 1;
    const summary = summaries.get(s.id)?.storage;
    if (summary) {
      storage.logicalBytes += summary.logicalBytes;
      storage.describedBytes += summary.describedBytes;
      storage.storedBytes += summary.storedBytes;
      storage.checkpoints += summary.checkpoints;
    }
    slept += sleptMs(s, runsBySession.get(s.id) ?? [], now);
  }
  const durations: Record<LatencyKind, number[]> = { pause: [], resume: [], restore: [] };
  for (const run of runs) {
    const kind = runKind(run);
    if (kind !== "other" && run.status === "completed" && run.endedAt !== null) durations[kind].push(run.endedAt - run.startedAt);
  }
  const latency = (values: number[]) => ({ count: values.length, p50: percentile(values, 50), p95: percentile(values, 95) });
  const hoursSaved = slept / 3600_000;
  return {
    now,
    sessionsByState,
    sessions: sessions.length,
    storage,
    hoursSaved,
    moneySaved: hoursSaved * config.dashboard.pricePerHour,
    pricePerHour: config.dashboard.pricePerHour,
    latencies: { pause: latency(durations.pause), resume: latency(durations.resume), restore: latency(durations.restore) },
    warnings: sessions.filter((s) => !isTerminal(s.state)).flatMap((s) => warningsFor(s, config, now)),
    engine: config.workflowEngine.kind,
  };
}
