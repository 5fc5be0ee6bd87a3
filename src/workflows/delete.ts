/**
 * Delete: the user asked to end a session. The sandbox is killed and the session marked deleted;
 * its committed checkpoints stay (pinned ones forever, the others until retention prunes them), so
 * a deletion by mistake can still be restored from the CLI.
 *
 *   Take the lease → Take a final checkpoint if the sandbox is running → Kill the sandbox and
 *   mark the session deleted.
 */
import { commitSnapshot, flushAndSnapshot } from "./checkpointing";
import { guardLease, releaseAfterFailure, releaseLease, takeLease } from "./lease";
import { namedStep } from "./progress";
import { sessionWorkflow, type TorporEvent } from "./types";

type DeleteEvent = Extract<TorporEvent, { name: "torpor/session.delete.requested" }>;

export interface DeleteResult {
  status: "deleted" | "skipped";
  reason: string;
  finalCheckpointId: string | null;
}

export const deleteWorkflow = sessionWorkflow<DeleteEvent, DeleteResult>({
  id: "delete-session",
  name: "Delete a session",
  trigger: { event: "torpor/session.delete.requested" },
  retries: 4,
  async handler({ event, step, runId, deps }) {
    const { sessionId } = event.data;
    const lease = await step.run("Take the lease", () =>
      takeLease(deps, { sessionId, holder: runId, operation: "delete", onBusy: "wait", doneStates: ["deleted"] }),
    );
    if (!lease.ok) return { status: "skipped", reason: lease.reason, finalCheckpointId: null };
    try {
      const final = await namedStep(step, "Take a final checkpoint if the sandbox is running", async (stepName) => {
        await guardLease(deps, sessionId, runId);
        if (!lease.sandboxId || lease.state !== "running") return null;
        if ((await deps.sandboxes.status(lease.sandboxId)) !== "running") return null;
        const taken = await flushAndSnapshot(deps, { sessionId, sandboxId: lease.sandboxId, parentId: lease.latestCheckpointId, runId, kind: "manual", stepName });
        await commitSnapshot(deps, sessionId, taken, "manual", "final checkpoint before delete");
        return taken.checkpointId;
      });
      await step.run("Kill the sandbox and mark the session deleted", async () => {
        // A replay after a crash that followed the commit: deleted, our lease maybe released already
        // (renewing it would fail LEASE_LOST and fail a finished delete). Releasing is idempotent.
        if ((await deps.store.getSession(sessionId)).state === "deleted") return releaseLease(deps, sessionId, runId);
        await guardLease(deps, sessionId, runId);
        if (lease.sandboxId) await deps.sandboxes.kill(lease.sandboxId);
        await deps.store.transition(sessionId, "delete", { holder: runId, patch: { sandboxId: null }, now: deps.now() });
        await deps.store.releaseLease(sessionId, runId);
        return null;
      });
      return { status: "deleted", reason: "deleted on request", finalCheckpointId: final };
    } catch (error) {
      return await releaseAfterFailure(step, deps, { sessionId, runId, what: "delete", error });
    }
  },
});
