/**
 * Manual snapshot: a checkpoint of a running session on request, with an optional label.
 *
 *   Take the lease (the session stays running) → Flush pending changes and take a checkpoint →
 *   Commit the checkpoint → Release the lease.
 *
 * The lease keeps hibernate and restore away while the snapshot reads the files; the sandbox keeps
 * running and the user keeps working, except that a local sandbox is frozen for the seconds the
 * checkpoint reads it (see the step). A busy session makes the step retry until the lease frees.
 */
import { commitSnapshot, flushAndSnapshot } from "./checkpointing";
import { whileFrozen } from "./frozen-read";
import { guardLease, releaseAfterFailure, releaseLease, requireSandbox, takeLease } from "./lease";
import { namedStep } from "./progress";
import { sessionWorkflow, type TorporEvent } from "./types";

type SnapshotEvent = Extract<TorporEvent, { name: "torpor/session.snapshot.requested" }>;

export interface SnapshotWorkflowResult {
  status: "committed" | "skipped";
  reason: string;
  checkpointId: string | null;
  files: number;
  bytes: number;
  uploadedBytes: number;
}

export const snapshotWorkflow = sessionWorkflow<SnapshotEvent, SnapshotWorkflowResult>({
  id: "snapshot-session",
  name: "Take a manual snapshot",
  trigger: { event: "torpor/session.snapshot.requested" },
  retries: 4,
  async handler({ event, step, runId, deps }) {
    const { sessionId, label } = event.data;
    const lease = await step.run("Take the lease", () =>
      takeLease(deps, { sessionId, holder: runId, operation: "snapshot", onBusy: "wait" }),
    );
    if (!lease.ok) {
      return { status: "skipped", reason: lease.reason, checkpointId: null, files: 0, bytes: 0, uploadedBytes: 0 };
    }
    try {
      const sandboxId = requireSandbox(lease, sessionId);
      const taken = await namedStep(step, "Flush pending changes and take a checkpoint", async (stepName) => {
        await guardLease(deps, sessionId, runId);
        return whileFrozen(deps, sandboxId, () =>
          flushAndSnapshot(deps, { sessionId, sandboxId, parentId: lease.latestCheckpointId, runId, kind: "manual", stepName }),
        );
      });
      await step.run("Commit the checkpoint", () => commitSnapshot(deps, sessionId, taken, "manual", label));
      await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
      return {
        status: "committed",
        reason: label ? `manual snapshot '${label}'` : "manual snapshot",
        checkpointId: taken.checkpointId,
        files: taken.files,
        bytes: taken.bytes,
        uploadedBytes: taken.uploadedBytes,
      };
    } catch (error) {
      return await releaseAfterFailure(step, deps, { sessionId, runId, what: "snapshot", error });
    }
  },
});
