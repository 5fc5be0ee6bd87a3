/**
 * History retention as data: which change rows and runs the retention run deletes. Both state
 * stores scan candidates in bounded batches and ask these functions about each one, inside the
 * same transaction that deletes it, so SQLite and Convex keep exactly the same rows.
 *
 * Terms: a change row is "flushed" once a checkpoint took it (its checkpoint id and flush time
 * are set); a run is "finished" once it ended completed, failed or cancelled. History flushed or
 * finished before the cut-off (now minus TORPOR_HISTORY_RETENTION_DAYS) goes, except:
 * - pending change rows, whatever their age: the next checkpoint still has to take them;
 * - queued and running runs: the embedded engine's journal, continued after a restart;
 * - the newest run of each workflow of each session (and of each cron workflow): the overview
 *   measures a sleeping session's sleep from its last hibernate run, and a session's page keeps
 *   showing the last resume, hibernate, snapshot… with its outcome and error;
 * - everything of a session that is mid-operation (a live lease, or a transient state such as
 *   hibernating): the workflow acting on it may still read or write these rows.
 */
import { isLeaseLive } from "./lifecycle";
import { isTransient } from "./state-classes";
import type { RunStatus, Session } from "./types";

/** Rows one store call examines at most (a short transaction; well under Convex's read limits). */
export const HISTORY_BATCH = 500;
/** Rows one store call deletes at most, a run's steps included (under Convex's write limits). */
export const HISTORY_WRITE_BUDGET = 4000;

export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ["completed", "failed", "cancelled"];

export function isMidOperation(session: Pick<Session, "state" | "lease">, now: number): boolean {
  return isLeaseLive(session.lease, now) || isTransient(session.state);
}

export type HistoryDecision = { prune: true } | { prune: false; why: string };

const keep = (why: string): HistoryDecision => ({ prune: false, why });

/** `session` is null when the row's session is gone (or the row has none). */
export function decideChange(
  change: { checkpointId: string | null; flushedAt: number | null },
  context: { before: number; session: Pick<Session, "state" | "lease"> | null; now: number },
): HistoryDecision {
  if (change.checkpointId === null || change.flushedAt === null) return keep("pending");
  if (change.flushedAt >= context.before) return keep("flushed within the retention age");
  if (context.session !== null && isMidOperation(context.session, context.now)) return keep("its session is mid-operation");
  return { prune: true };
}

/** `newestOfKindId`: the id of the newest run of the same workflow for the same session (or none). */
export function decideRun(
  run: { id: string; status: RunStatus; endedAt: number | null },
  context: { before: number; newestOfKindId: string | null; session: Pick<Session, "state" | "lease"> | null; now: number },
): HistoryDecision {
  if (!FINISHED_RUN_STATUSES.includes(run.status) || run.endedAt === null) return keep(`${run.status}`);
  if (run.endedAt >= context.before) return keep("finished within the retention age");
  if (run.id === context.newestOfKindId) return keep("the newest run of its workflow for its session");
  if (context.session !== null && isMidOperation(context.session, context.now)) return keep("its session is mid-operation");
  return { prune: true };
}
