/**
 * Continuous flush (the RPO): an incremental checkpoint of a running session whose oldest pending
 * change is older than the flush interval (the session's own flushIntervalMs, else
 * TORPOR_FLUSH_INTERVAL_MS; 0 = off), so that a sandbox that dies
 * while running (a provider crash, E2B's runtime cap, OOM) loses at most that interval.
 *
 *   Take the lease (the session stays running) → Check that a flush is due → Flush pending changes
 *   and take a checkpoint → Commit the checkpoint → Release the lease.
 *
 * The idle sweep requests it (src/workflows/idle-sweep.ts); the run checks again that the flush is
 * due, since a hibernate or a snapshot may have flushed the rows since the request. Nothing pauses:
 * the session stays running, and a flush is not activity. A local sandbox is frozen only while the
 * checkpoint reads it, as a manual snapshot is (its processes cannot swap what is being read); E2B's
 * is read running. The checkpoint is of the changed paths (the pending rows'; only their folders
 * are stat-scanned again, on the latest manifest: ./changed-paths-scan) when the sandbox is
 * frozen, with a full scan otherwise; hibernate and archive always scan it all.
 * A flush that finds nothing changed since the latest checkpoint commits none
 * (flushAndSnapshot reuses it) and only marks the rows flushed. Checkpoint kind: "scheduled".
 */
import { flushIntervalOf } from "../core/session-policy";
import type { Session } from "../core/types";
import { commitSnapshot, flushAndSnapshot } from "./checkpointing";
import { whileFrozen } from "./frozen-read";
import { guardLease, releaseAfterFailure, releaseLease, requireSandbox, takeLease } from "./lease";
import { namedStep } from "./progress";
import { sessionWorkflow, type TorporEvent, type WorkflowDeps } from "./types";

type FlushEvent = Extract<TorporEvent, { name: "torpor/session.flush.requested" }>;

export interface FlushResult {
  status: "committed" | "reused" | "skipped";
  reason: string;
  checkpointId: string | null;
  flushedChanges: number;
  uploadedBytes: number;
}

/**
 * Whether `session`'s pending changes are old enough for a flush at `now` (by its own flush
 * interval, else TORPOR_FLUSH_INTERVAL_MS): the oldest change's time, or null.
 */
export async function flushDue(
  deps: WorkflowDeps,
  session: Pick<Session, "id" | "flushIntervalMs">,
  now: number,
): Promise<{ due: boolean; oldestAt: number | null }> {
  const interval = flushIntervalOf(session, deps.config.lifecycle.flushIntervalMs);
  const [oldest] = await deps.store.listPendingChanges(session.id, 1);
  if (!oldest) return { due: false, oldestAt: null };
  return { due: interval > 0 && now - oldest.at >= interval, oldestAt: oldest.at };
}

export const flushWorkflow = sessionWorkflow<FlushEvent, FlushResult>({
  id: "flush-session",
  name: "Flush a running session's changes",
  trigger: { event: "torpor/session.flush.requested" },
  retries: 4,
  async handler({ event, step, runId, deps }) {
    const { sessionId, reason } = event.data;
    const skipped = (why: string): FlushResult => ({ status: "skipped", reason: why, checkpointId: null, flushedChanges: 0, uploadedBytes: 0 });
    // A snapshot lease is only granted to a running session. "skip": a busy session is being saved or woken by another workflow; the next sweep asks again.
    const lease = await step.run("Take the lease", () =>
      takeLease(deps, { sessionId, holder: runId, operation: "snapshot", onBusy: "skip" }),
    );
    if (!lease.ok) return skipped(lease.reason);
    try {
      const due = await step.run("Check that a flush is due", async () => {
        const session = await deps.store.getSession(sessionId);
        if (session.state !== "running") return { due: false, why: `the session is ${session.state}` };
        const check = await flushDue(deps, session, deps.now());
        return { due: check.due, why: check.oldestAt === null ? "no pending change" : "the oldest pending change is newer than the flush interval" };
      });
      if (!due.due) {
        await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
        return skipped(due.why);
      }
      const sandboxId = requireSandbox(lease, sessionId);
      const taken = await namedStep(step, "Flush pending changes and take a checkpoint", async (stepName) => {
        await guardLease(deps, sessionId, runId);
        // Only a frozen sandbox is read path by path: its provider's folder scan never follows a
        // symlink among the parents (E2B's find would), and nothing moves between two roots.
        return whileFrozen(deps, sandboxId, (frozen) =>
          flushAndSnapshot(deps, {
            sessionId, sandboxId, parentId: lease.latestCheckpointId, runId, kind: "scheduled",
            stepName, changedPathsOnly: frozen,
          }),
        );
      });
      const committed = await step.run("Commit the checkpoint", () => commitSnapshot(deps, sessionId, taken, "scheduled"));
      await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
      return {
        status: taken.reused ? "reused" : "committed",
        reason: taken.reused ? `${reason}; nothing changed since checkpoint '${taken.checkpointId}'` : reason,
        checkpointId: taken.checkpointId,
        flushedChanges: committed.flushedChanges,
        uploadedBytes: taken.uploadedBytes,
      };
    } catch (error) {
      return await releaseAfterFailure(step, deps, { sessionId, runId, what: "flush", error });
    }
  },
});
