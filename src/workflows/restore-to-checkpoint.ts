/**
 * Restore to a checkpoint: put a chosen (usually earlier) committed checkpoint into a new sandbox
 * and point the session at it.
 *
 *   Take the lease (→ restoring) → Check the chosen checkpoint → Take a safety checkpoint of the
 *   current files → Create a new sandbox from the template → Restore the checkpoint into the new
 *   sandbox → Verify every restored file → Start the session's start command → Point the session
 *   at the new sandbox (→ running) →
 *   Remove the old sandbox → after-restore hooks → Release the lease.
 *
 * The old sandbox is removed only after the safety checkpoint is committed (invariant 1), so the
 * files it held stay restorable. On failure the session goes back to its old sandbox when that
 * one is still there (→ running), else to archived.
 */
import { describeError, NotFoundError } from "../core/errors";
import { commitSnapshot, flushAndSnapshot } from "./checkpointing";
import { runHooks, type HookReport } from "./hooks";
import { guardLease, releaseLease, settle, takeLease } from "./lease";
import { namedStep } from "./progress";
import { restoreIntoNewSandbox, startCommandStep } from "./restore-into-sandbox";
import { sessionWorkflow, type TorporEvent } from "./types";

type RestoreEvent = Extract<TorporEvent, { name: "torpor/session.restore.requested" }>;

export interface RestoreToCheckpointResult {
  status: "restored" | "skipped";
  reason: string;
  sandboxId: string | null;
  checkpointId: string;
  safetyCheckpointId: string | null;
  files: number;
  hooks: HookReport[];
}

export const restoreWorkflow = sessionWorkflow<RestoreEvent, RestoreToCheckpointResult>({
  id: "restore-session",
  name: "Restore a session to a checkpoint",
  trigger: { event: "torpor/session.restore.requested" },
  retries: 4,
  async handler({ event, step, runId, deps }) {
    const { sessionId, checkpointId } = event.data;
    const skipped = { sandboxId: null, checkpointId, safetyCheckpointId: null, files: 0, hooks: [] };
    const lease = await step.run("Take the lease", () =>
      takeLease(deps, {
        sessionId,
        holder: runId,
        operation: "restore",
        start: "restore.start",
        onBusy: "wait",
        patch: { wakeReason: { at: deps.now(), kind: "restore", detail: `restore to checkpoint ${checkpointId}` } },
      }),
    );
    if (!lease.ok) return { ...skipped, status: "skipped", reason: lease.reason };
    const oldSandbox = lease.sandboxId;
    let created: string | null = null;
    try {
      await step.run("Check the chosen checkpoint", async () => {
        const record = await deps.store.getCheckpoint(checkpointId);
        if (!record || record.sessionId !== sessionId || record.status !== "committed") {
          throw new NotFoundError(`No committed checkpoint '${checkpointId}' for session '${sessionId}'`, {
            details: { sessionId, checkpointId, status: record?.status ?? null },
          });
        }
        return null;
      });
      const safety = await namedStep(step, "Take a safety checkpoint of the current files", async (stepName) => {
        await guardLease(deps, sessionId, runId);
        if (!oldSandbox || (await deps.sandboxes.status(oldSandbox)) === "gone") return null;
        await deps.sandboxes.connect(oldSandbox);
        const taken = await flushAndSnapshot(deps, { sessionId, sandboxId: oldSandbox, parentId: lease.latestCheckpointId, runId, kind: "manual", stepName });
        await commitSnapshot(deps, sessionId, taken, "manual", `before restore to ${checkpointId}`);
        return taken.checkpointId;
      });
      const restored = await restoreIntoNewSandbox(step, deps, {
        sessionId,
        runId,
        template: lease.template,
        checkpointId,
        onCreated: (id) => (created = id),
      });
      // The new sandbox's processes: the start command first, the after-restore hooks further down.
      const notStarted = await startCommandStep(step, deps, restored.sandboxId, lease.hooks.startCommand);
      await step.run("Point the session at the new sandbox", async () => {
        const session = await deps.store.getSession(sessionId);
        // A replay after a crash that followed the commit finds its own effect: done (and the
        // old sandbox is still removed by the next step, not leaked).
        if (session.state === "running" && session.sandboxId === restored.sandboxId && session.lease?.holder === runId) return null;
        await deps.store.transition(sessionId, "resume.done", {
          holder: runId,
          patch: { sandboxId: restored.sandboxId, latestCheckpointId: checkpointId, lastError: notStarted },
          now: deps.now(),
        });
        return null;
      });
      if (oldSandbox && oldSandbox !== restored.sandboxId) {
        await step.run("Remove the old sandbox", () => deps.sandboxes.kill(oldSandbox).then(() => null));
      }
      const hooks = await runHooks(step, deps, "after-resume", restored.sandboxId, lease.hooks.afterResume);
      await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
      return {
        status: "restored",
        reason: `restored checkpoint ${checkpointId}`,
        sandboxId: restored.sandboxId,
        checkpointId,
        safetyCheckpointId: safety,
        files: restored.verifiedFiles,
        hooks,
      };
    } catch (error) {
      await step.run("Return the session to a resting state after a failure", async () => {
        const session = await deps.store.getSession(sessionId);
        if (created && session.sandboxId !== created) await deps.sandboxes.kill(created);
        const oldAlive = oldSandbox !== null && (await deps.sandboxes.status(oldSandbox)) !== "gone";
        const patch = { lastError: `restore failed: ${describeError(error)}` };
        // Back on the old sandbox when it is still there; archived (checkpoints only) when not.
        return settle(deps, { sessionId, holder: runId, events: oldAlive ? ["resume.done"] : ["resume.failed"], patch });
      });
      throw error;
    }
  },
});
