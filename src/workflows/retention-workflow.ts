/**
 * Retention run (cron, hourly): apply each session's retention policy (see ./retention), record
 * warnings for checkpoints and paused sandboxes about to expire, prune what expired, then gc; then
 * prune history: change rows flushed and runs finished more than TORPOR_HISTORY_RETENTION_DAYS ago
 * (what is kept, and why: src/core/history), one bounded store call per step, until nothing is
 * left or HISTORY_MAX_BATCHES steps ran (the next hourly run goes on).
 *
 *   Plan retention for every session → Remove expired checkpoint <id> … → Collect unreferenced objects
 *   → Prune old change rows and runs, batch 1 … n
 *
 * A pruned checkpoint is first marked deleted in the state store (nobody restores from it any
 * more), then its manifest is removed; gc deletes objects no remaining manifest references, after
 * the grace period that protects checkpoints being written.
 */
import { isTorporError } from "../core/errors";
import { HISTORY_BATCH } from "../core/history";
import { DAY_MS, pausedExpiryWarning, planRetention } from "./retention";
import type { CronTick, WorkflowDefinition } from "./types";
import { allSessions } from "../store/paging";

export const RETENTION_CRON = "17 * * * *";
/** History batches one retention run deletes at most: HISTORY_MAX_BATCHES × HISTORY_BATCH rows examined. */
export const HISTORY_MAX_BATCHES = 50;

export interface HistoryPruneTotals {
  /** Rows flushed or finished before this time were candidates. */
  before: number;
  changes: number;
  runs: number;
  steps: number;
  kept: number;
  batches: number;
  /** False when the run stopped at HISTORY_MAX_BATCHES with rows left to examine. */
  done: boolean;
}

export interface RetentionRunResult {
  pruned: { sessionId: string; checkpointId: string }[];
  warnings: string[];
  gc: { deletedObjects: number; deletedBytes: number; inGrace: number };
  history: HistoryPruneTotals;
}

export function createRetentionWorkflow(cron: string = RETENTION_CRON): WorkflowDefinition<CronTick, RetentionRunResult> {
  return {
    id: "retention",
    name: "Apply checkpoint retention and collect garbage",
    trigger: { cron },
    retries: 3,
    async handler({ event, step, deps }) {
      const plan = await step.run("Plan retention for every session", async () => {
        const now = deps.now();
        const prune: { sessionId: string; checkpointId: string }[] = [];
        const warnings: string[] = [];
        // Every session, paged: listSessions() stops at the newest 1,000.
        for await (const session of allSessions(deps.store)) {
          const checkpoints = await deps.store.listCheckpoints(session.id);
          const decisions = planRetention({
            checkpoints,
            policy: session.retention,
            latestCheckpointId: session.latestCheckpointId,
            now,
          });
          for (const d of decisions) {
            if (d.status === "prune") prune.push({ sessionId: session.id, checkpointId: d.checkpointId });
            if (d.status === "expiring") {
              warnings.push(`Checkpoint '${d.checkpointId}' of session '${session.id}' expires at ${new Date(d.expiresAt!).toISOString()}: ${d.why}`);
            }
          }
          if (session.state === "paused") {
            const warning = pausedExpiryWarning(session, deps.config.lifecycle.archiveAfterMs, now);
            if (warning) warnings.push(warning);
          }
        }
        return { prune, warnings };
      });
      for (const item of plan.prune) {
        await step.run(`Remove expired checkpoint ${item.checkpointId}`, async () => {
          await deps.store.markCheckpointDeleted(item.checkpointId, deps.now());
          try {
            await deps.checkpoints.remove(item.checkpointId);
          } catch (error) {
            if (!isTorporError(error, "NOT_FOUND")) throw error;
          }
          return null;
        });
      }
      const gc = await step.run("Collect unreferenced objects", async () => {
        const result = await deps.checkpoints.gc({ graceMs: deps.config.checkpoint.gcGraceMs, now: deps.now() });
        return { deletedObjects: result.deletedObjects, deletedBytes: result.deletedBytes, inGrace: result.inGrace };
      });
      // The cut-off comes from the tick, not the clock: a replayed or retried step sees the same one.
      const before = event.data.scheduledAt - deps.config.lifecycle.historyRetentionDays * DAY_MS;
      const history: HistoryPruneTotals = { before, changes: 0, runs: 0, steps: 0, kept: 0, batches: 0, done: false };
      let cursor: string | null = null;
      while (history.batches < HISTORY_MAX_BATCHES) {
        history.batches++;
        const batch = await step.run(`Prune old change rows and runs, batch ${history.batches}`, () =>
          deps.store.pruneHistory({ changesFlushedBefore: before, runsEndedBefore: before, cursor, limit: HISTORY_BATCH, now: deps.now() }),
        );
        history.changes += batch.changes;
        history.runs += batch.runs;
        history.steps += batch.steps;
        history.kept += batch.kept;
        cursor = batch.cursor;
        if (cursor === null) {
          history.done = true;
          break;
        }
      }
      return { pruned: plan.prune, warnings: plan.warnings, gc, history };
    },
  };
}
