/**
 * A session's history on one time axis, for the session page: when it was awake, asleep or
 * archived and why (from its hibernate, archive, resume and restore runs), its checkpoints, its
 * runs, its activity (the last one and the change rows not yet in a checkpoint, per time bucket),
 * when a paused session will be archived and why, and whether its `lastError` still stands (a
 * later successful run clears it). Pure: the router reads the store, this only arranges.
 */
import { archiveDeadline } from "../core/deadlines";
import type { CheckpointRecord, ChangeRecord, RunRecord, Session } from "../core/types";
import { runOutcome } from "./run-outcome";

export type PeriodKind = "awake" | "asleep" | "archived";

export interface Timeline {
  from: number;
  to: number;
  periods: { kind: PeriodKind; from: number; to: number; reason: string | null }[];
  /** Sleeps and wakes, with their reasons. */
  transitions: { at: number; kind: "sleep" | "wake" | "archive"; reason: string | null; runId: string }[];
  checkpoints: { id: string; at: number; kind: string; label: string | null }[];
  runs: { id: string; workflow: string; from: number; to: number; outcome: string; label: string }[];
  /** Change rows per bucket (the change feed's volume since the latest checkpoint). */
  changes: { at: number; count: number }[];
  lastActivity: { at: number; kind: string };
  /** A paused session: when the sweep archives it (null: not paused); an archived one: why it was. */
  archive: { at: number | null; reason: string } | null;
  /** The session's lastError, and whether a later run completed (then the page greys it out). */
  lastError: { message: string; stale: boolean; at: number | null } | null;
}

const BUCKETS = 60;

/** What a finished run did to the session, if it moved it between awake and asleep. */
function transitionOf(run: RunRecord): Timeline["transitions"][number] | null {
  if (run.status !== "completed" || run.endedAt === null) return null;
  const o = runOutcome(run);
  if (o.outcome !== "completed") return null;
  const at = run.endedAt;
  if (run.workflow === "hibernate-session" && o.label === "completed: paused") return { at, kind: "sleep", reason: o.detail, runId: run.id };
  if (run.workflow === "archive-session" && o.label === "completed: archived") return { at, kind: "archive", reason: o.detail, runId: run.id };
  if (run.workflow === "resume-session" || run.workflow === "restore-session") {
    const why = [o.label.replace(/^completed: /, ""), o.detail].filter((s) => s && s !== "completed").join(": ");
    return { at, kind: "wake", reason: why || null, runId: run.id };
  }
  return null;
}

export function sessionTimeline(
  session: Session,
  runs: RunRecord[],
  checkpoints: CheckpointRecord[],
  changes: ChangeRecord[],
  archiveAfterMs: number,
  now: number,
): Timeline {
  const ordered = [...runs].sort((a, b) => a.startedAt - b.startedAt);
  // Runs beyond the read (the newest N) are cut off: the axis starts at what is known.
  const from = Math.min(session.createdAt, ordered[0]?.startedAt ?? session.createdAt);
  const transitions = ordered.map(transitionOf).filter((t): t is NonNullable<typeof t> => t !== null).sort((a, b) => a.at - b.at);

  const periods: Timeline["periods"] = [];
  let current: { kind: PeriodKind; from: number; reason: string | null } = { kind: "awake", from, reason: "created" };
  for (const t of transitions) {
    const kind: PeriodKind = t.kind === "wake" ? "awake" : t.kind === "archive" ? "archived" : "asleep";
    if (kind === current.kind) continue;
    periods.push({ ...current, to: t.at });
    current = { kind, from: t.at, reason: t.reason };
  }
  periods.push({ ...current, to: now });

  const stamp = (c: ChangeRecord) => c.at;
  const changeFrom = changes.length > 0 ? Math.min(...changes.map(stamp)) : now;
  const bucketMs = Math.max(1000, Math.ceil((now - changeFrom) / BUCKETS));
  const buckets = new Map<number, number>();
  for (const c of changes) {
    const at = changeFrom + Math.floor((c.at - changeFrom) / bucketMs) * bucketMs;
    buckets.set(at, (buckets.get(at) ?? 0) + 1);
  }

  let archive: Timeline["archive"] = null;
  const archiveAt = archiveDeadline(session, archiveAfterMs);
  if (archiveAt !== null) {
    archive = {
      at: archiveAt,
      reason: `a paused sandbox is archived (its checkpoint kept, the sandbox killed) after ${Math.round(archiveAfterMs / 60_000)} min asleep (TORPOR_ARCHIVE_AFTER_MS)`,
    };
  } else if (session.state === "archived") {
    archive = { at: null, reason: session.sleepReason?.detail ?? "archived" };
  }

  let lastError: Timeline["lastError"] = null;
  if (session.lastError !== null) {
    const failed = ordered.filter((r) => r.status === "failed" && r.endedAt !== null).at(-1);
    const errorAt = failed?.endedAt ?? null;
    // Stale: a run of this session completed after the last failure and the session is not failed now.
    const stale = session.state !== "failed" && ordered.some((r) => r.status === "completed" && r.endedAt !== null && (errorAt === null || r.endedAt > errorAt));
    lastError = { message: session.lastError, stale, at: errorAt };
  }

  return {
    from,
    to: now,
    periods,
    transitions,
    checkpoints: checkpoints
      .filter((c) => c.status === "committed")
      .map((c) => ({ id: c.id, at: c.committedAt ?? c.createdAt, kind: c.kind, label: c.label })),
    runs: ordered.map((r) => ({ id: r.id, workflow: r.workflow, from: r.startedAt, to: r.endedAt ?? now, ...pick(runOutcome(r)) })),
    changes: [...buckets].map(([at, count]) => ({ at, count })).sort((a, b) => a.at - b.at),
    lastActivity: { at: session.lastActivityAt, kind: session.lastActivityKind },
    archive,
    lastError,
  };
}

const pick = (o: ReturnType<typeof runOutcome>) => ({ outcome: o.outcome, label: o.label });
