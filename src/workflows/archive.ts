/**
 * Archive: keep only the checkpoint and kill the provider's copy of a sandbox.
 *
 *   Take the lease (paused → archiving) → Take a final checkpoint if anything changed → Verify the
 *   latest checkpoint → Kill the sandbox (→ archived) → Release the lease.
 *
 * Invariant 1 is checked in the kill step itself, right before the kill: a committed checkpoint
 * exists and no change row is newer than it. A verify that finds a problem, or a change that
 * slipped in, aborts the archive (→ paused): the sandbox and its files stay where they are.
 * Hibernate reuses archiveSteps for providers that cannot pause.
 */
import { ConflictError, describeError, IntegrityError } from "../core/errors";
import { nextState } from "../core/lifecycle";
import { commitSnapshot, flushAndSnapshot } from "./checkpointing";
import { guardLease, isSandboxLost, markSandboxLost, releaseLease, requireSandbox, settle, takeLease } from "./lease";
import { withRunProgress } from "./progress";
import { sessionWorkflow, type Step, type TorporEvent, type WorkflowDeps } from "./types";

type ArchiveEvent = Extract<TorporEvent, { name: "torpor/session.archive.requested" }>;

export interface ArchiveResult {
  status: "archived" | "skipped";
  reason: string;
  checkpointId: string | null;
  finalCheckpoint: boolean;
}

/** The steps from a saved session (paused or hibernating) to an archived one. */
export async function archiveSteps(
  step: Step,
  deps: WorkflowDeps,
  input: { sessionId: string; runId: string; sandboxId: string },
): Promise<{ checkpointId: string; finalCheckpoint: boolean }> {
  const { sessionId, runId, sandboxId } = input;
  const { store } = deps;
  const final = await step.run("Take a final checkpoint if anything changed", async () => {
    await guardLease(deps, sessionId, runId);
    const session = await store.getSession(sessionId);
    if (nextState(session.state, "archive.start").ok) {
      await store.transition(sessionId, "archive.start", { holder: runId, now: deps.now() });
    }
    const pending = await store.listPendingChanges(sessionId, 1);
    if (session.latestCheckpointId && pending.length === 0) return { checkpointId: session.latestCheckpointId, taken: false };
    try {
      if (deps.sandboxes.supportsPause) await deps.sandboxes.connect(sandboxId);
      const taken = await flushAndSnapshot(deps, {
        sessionId,
        sandboxId,
        parentId: session.latestCheckpointId,
        runId,
        kind: "hibernate",
        step: "Take a final checkpoint if anything changed",
      });
      await commitSnapshot(deps, sessionId, taken, "hibernate", "final checkpoint before archive");
      return { checkpointId: taken.checkpointId, taken: true };
    } catch (error) {
      // The provider lost the sandbox: what it held after the last checkpoint is gone with it.
      if (!isSandboxLost(error) || !session.latestCheckpointId) throw error;
      await markSandboxLost(deps, sessionId, describeError(error));
      return { checkpointId: session.latestCheckpointId, taken: false };
    }
  });
  await step.run("Verify the latest checkpoint", async () => {
    const verified = await withRunProgress(deps, runId, "Verify the latest checkpoint", (onProgress) =>
      deps.checkpoints.verify(final.checkpointId, { onProgress }),
    );
    if (!verified.ok) {
      const first = verified.problems[0];
      throw new IntegrityError("INTEGRITY", `Checkpoint '${final.checkpointId}' failed verification: ${first?.path}: ${first?.problem}`, {
        details: { checkpointId: final.checkpointId, problems: verified.problems.slice(0, 20) },
      });
    }
    return { files: verified.files, bytes: verified.bytes };
  });
  await step.run("Kill the sandbox", async () => {
    await guardLease(deps, sessionId, runId);
    const session = await store.getSession(sessionId);
    if (session.state === "archived") return null;
    const checkpoint = session.latestCheckpointId ? await store.getCheckpoint(session.latestCheckpointId) : null;
    const pending = await store.listPendingChanges(sessionId, 1);
    if (checkpoint?.status !== "committed" || pending.length > 0) {
      throw new ConflictError("CONFLICT", `Session '${sessionId}' changed after its last checkpoint: not killing its sandbox`, {
        retriable: false,
        details: { sessionId, latestCheckpointId: session.latestCheckpointId, pendingChanges: pending.length },
      });
    }
    await deps.sandboxes.kill(sandboxId);
    await store.transition(sessionId, "archive.done", { holder: runId, patch: { sandboxId: null }, now: deps.now() });
    return null;
  });
  return { checkpointId: final.checkpointId, finalCheckpoint: final.taken };
}

export const archiveWorkflow = sessionWorkflow<ArchiveEvent, ArchiveResult>({
  id: "archive-session",
  name: "Archive a paused session",
  trigger: { event: "torpor/session.archive.requested" },
  retries: 4,
  async handler({ event, step, runId, deps }) {
    const { sessionId, reason } = event.data;
    const lease = await step.run("Take the lease", () =>
      takeLease(deps, { sessionId, holder: runId, operation: "archive", start: "archive.start", onBusy: "skip" }),
    );
    if (!lease.ok) return { status: "skipped", reason: lease.reason, checkpointId: null, finalCheckpoint: false };
    try {
      const sandboxId = requireSandbox(lease, sessionId);
      const done = await archiveSteps(step, deps, { sessionId, runId, sandboxId });
      await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
      return { status: "archived", reason, checkpointId: done.checkpointId, finalCheckpoint: done.finalCheckpoint };
    } catch (error) {
      await step.run("Leave the session paused after a failure", () =>
        settle(deps, {
          sessionId,
          holder: runId,
          events: ["archive.aborted"],
          patch: { lastError: `archive failed: ${describeError(error)}` },
        }),
      );
      throw error;
    }
  },
});
