/**
 * Archive: keep only the checkpoint and kill the provider's copy of a sandbox.
 *
 *   Take the lease (paused → archiving) → Take a final checkpoint if anything changed → Verify the
 *   latest checkpoint → [Take a healing checkpoint after a failed verify → Verify the healing
 *   checkpoint] → Kill the sandbox (→ archived) → Release the lease.
 *
 * The final checkpoint is taken whenever the sandbox differs from the latest checkpoint (a stat
 * scan against its manifest), whatever the change rows say: the sandbox's own processes write
 * without change rows. Invariant 1 is checked in the kill step itself, right before the kill: the
 * session's latest checkpoint is the one just verified, it is committed, no change row is newer
 * than it, and the sandbox's scan still matches its manifest (a sandbox that cannot be frozen,
 * E2B's, may have written since: then the archive is aborted, activity wins). A
 * checkpoint with damaged objects is healed from the sandbox (./archive-healing); a healing
 * checkpoint that fails too, a lost sandbox, or a change that slipped in aborts the archive
 * (→ paused): the sandbox and its files stay where they are.
 * Hibernate reuses archiveSteps for providers that cannot pause.
 */
import { describeComparison } from "../checkpoint/engine/compare";
import { describeError } from "../core/errors";
import { nextState } from "../core/lifecycle";
import { HEALING_STEP, takeHealingCheckpoint, verifyOutcome, verifyRefused } from "./archive-healing";
import { commitSnapshot, compareWithCheckpoint, flushAndSnapshot } from "./checkpointing";
import { guardLease, isSandboxLost, markSandboxLost, releaseLease, requireSandbox, settle, takeLease } from "./lease";
import { namedStep, progressStep } from "./progress";
import { sessionWorkflow, type Step, type TorporEvent, type WorkflowDeps } from "./types";

type ArchiveEvent = Extract<TorporEvent, { name: "torpor/session.archive.requested" }>;

export interface ArchiveResult {
  /** "aborted": the session changed after its last checkpoint (activity won); it stays paused. */
  status: "archived" | "skipped" | "aborted";
  reason: string;
  checkpointId: string | null;
  finalCheckpoint: boolean;
  /** Set when the latest checkpoint failed verification and a healing checkpoint replaced it. */
  healed?: HealedCheckpoint | null;
}

export interface HealedCheckpoint {
  failedCheckpointId: string;
  problem: string;
  checkpointId: string;
}

/** The steps from a saved session (paused or hibernating) to an archived one. */
export async function archiveSteps(
  step: Step,
  deps: WorkflowDeps,
  input: { sessionId: string; runId: string; sandboxId: string },
): Promise<{ checkpointId: string; finalCheckpoint: boolean; healed: HealedCheckpoint | null; changedSince: string | null }> {
  const { sessionId, runId, sandboxId } = input;
  const { store } = deps;
  const final = await namedStep(step, "Take a final checkpoint if anything changed", async (stepName) => {
    await guardLease(deps, sessionId, runId);
    const session = await store.getSession(sessionId);
    if (nextState(session.state, "archive.start").ok) {
      await store.transition(sessionId, "archive.start", { holder: runId, now: deps.now() });
    }
    const pending = await store.listPendingChanges(sessionId, 1);
    // A sandbox that is not readable while paused runs again, to be scanned and read.
    const wake = async () => {
      if (deps.sandboxes.supportsPause && !deps.sandboxes.readsWhilePaused) await deps.sandboxes.connect(sandboxId);
    };
    if (session.latestCheckpointId && pending.length === 0) {
      const latest = session.latestCheckpointId;
      const same = await wake()
        .then(() => compareWithCheckpoint(deps, sandboxId, latest))
        .then((comparison) => comparison.same)
        // A lost sandbox has nothing newer to save: the steps below see that it is gone.
        .catch((error: unknown) => {
          if (isSandboxLost(error)) return true;
          throw error;
        });
      if (same) return { checkpointId: latest, taken: false };
    }
    try {
      await wake();
      const taken = await flushAndSnapshot(deps, {
        sessionId,
        sandboxId,
        parentId: session.latestCheckpointId,
        runId,
        kind: "hibernate",
        stepName,
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
  const verified = await progressStep(step, deps, runId, "Verify the latest checkpoint", (onProgress) => verifyOutcome(deps, final.checkpointId, onProgress));
  let healed: HealedCheckpoint | null = null;
  if (!verified.ok) {
    const { problem } = verified;
    const healing = await step.run(HEALING_STEP, () =>
      takeHealingCheckpoint(deps, { sessionId, runId, sandboxId, damagedId: final.checkpointId, problem }),
    );
    await progressStep(step, deps, runId, "Verify the healing checkpoint", async (onProgress) => {
      const again = await verifyOutcome(deps, healing.checkpointId, onProgress);
      if (!again.ok) {
        // The healing step resumed the sandbox to read it: leave it paused, as the session will be.
        if (deps.sandboxes.supportsPause) await deps.sandboxes.pause(sandboxId).catch((error: unknown) => deps.log?.(`archive: could not pause '${sandboxId}' again: ${describeError(error)}`));
        throw verifyRefused(final.checkpointId, problem, `healing checkpoint '${healing.checkpointId}' failed verification too: ${again.problem}`);
      }
      return again;
    });
    healed = { failedCheckpointId: final.checkpointId, problem, checkpointId: healing.checkpointId };
  }
  const verifiedId = healed?.checkpointId ?? final.checkpointId;
  // Invariant 1: the sandbox dies only if the verified checkpoint is the latest and nothing changed
  // since. A change that raced in is an expected outcome (activity wins), returned as a value.
  const changedSince = await step.run("Kill the sandbox", async () => {
    await guardLease(deps, sessionId, runId);
    const session = await store.getSession(sessionId);
    if (session.state === "archived") return null;
    const checkpoint = session.latestCheckpointId ? await store.getCheckpoint(session.latestCheckpointId) : null;
    const pending = await store.listPendingChanges(sessionId, 1);
    // The checkpoint verified above must be the latest: a newer one has not been verified.
    if (session.latestCheckpointId !== verifiedId || checkpoint?.status !== "committed") {
      return `its latest checkpoint is ${session.latestCheckpointId ?? "none"}, not the verified ${verifiedId}`;
    }
    if (pending.length > 0) return "a file changed after its last checkpoint";
    // Gone already: killed by this step before a crash (or lost), nothing left to compare or save.
    if ((await deps.sandboxes.status(sandboxId)) !== "gone") {
      const comparison = await compareWithCheckpoint(deps, sandboxId, verifiedId);
      if (!comparison.same) return `the sandbox changed after its last checkpoint (${describeComparison(comparison)})`;
      await deps.sandboxes.kill(sandboxId);
    }
    // A healed archive says so where people look: the damaged checkpoint stays in the history.
    const note = healed ? { lastError: `verify of ${healed.failedCheckpointId} failed: ${healed.problem}; healed with ${healed.checkpointId}` } : {};
    await store.transition(sessionId, "archive.done", { holder: runId, patch: { sandboxId: null, ...note }, now: deps.now() });
    return null;
  });
  return { checkpointId: verifiedId, finalCheckpoint: final.taken, healed, changedSince };
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
      if (done.changedSince) {
        const why = `not archived: ${done.changedSince}; the sandbox is kept`;
        await step.run("Leave the session paused: it changed", async () => {
          // The final checkpoint may have resumed the sandbox to read it: paused means billing stops.
          if (deps.sandboxes.supportsPause && (await deps.sandboxes.status(sandboxId)) === "running") {
            await deps.sandboxes.pause(sandboxId);
          }
          return settle(deps, { sessionId, holder: runId, events: ["archive.aborted"], patch: { lastError: null } });
        });
        return { status: "aborted", reason: why, checkpointId: done.checkpointId, finalCheckpoint: done.finalCheckpoint, healed: done.healed };
      }
      await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
      return { status: "archived", reason, checkpointId: done.checkpointId, finalCheckpoint: done.finalCheckpoint, healed: done.healed };
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
