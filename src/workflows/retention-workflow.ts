/**
 * Retention run (cron, hourly): apply each session's retention policy (see ./retention), record
 * warnings for checkpoints and paused sandboxes about to expire, prune what expired, then gc.
 *
 *   Plan retention for every session → Remove expired checkpoint <id> … → Collect unreferenced objects
 *
 * A pruned checkpoint is first marked deleted in the state store (nobody restores from it any
 * more), then its manifest is removed; gc deletes objects no remaining manifest references, after
 * the grace period that protects checkpoints being written.
 */
import { isTorporError } from "../core/errors";
import { pausedExpiryWarning, planRetention } from "./retention";
import type { CronTick, WorkflowDefinition } from "./types";

export const RETENTION_CRON = "17 * * * *";

export interface RetentionRunResult {
  pruned: { sessionId: string; checkpointId: string }[];
  warnings: string[];
  gc: { deletedObjects: number; deletedBytes: number; inGrace: number };
}

export function createRetentionWorkflow(cron: string = RETENTION_CRON): WorkflowDefinition<CronTick, RetentionRunResult> {
  return {
    id: "retention",
    name: "Apply checkpoint retention and collect garbage",
    trigger: { cron },
    retries: 3,
    async handler({ step, deps }) {
      const plan = await step.run("Plan retention for every session", async () => {
        const now = deps.now();
        const prune: { sessionId: string; checkpointId: string }[] = [];
        const warnings: string[] = [];
        for (const session of await deps.store.listSessions()) {
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
      return { pruned: plan.prune, warnings: plan.warnings, gc };
    },
  };
}
