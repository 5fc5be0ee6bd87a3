/**
 * Reaping, as a step of the hourly retention run: sandboxes Torpor tagged (`torporSession`,
 * `torporSessionId`) that no session points at any more are killed (the rules, and what is
 * kept: src/sandbox/e2b/reap.ts). It runs for every provider that can list its sandboxes: on
 * E2B a leaked sandbox bills until E2B's own timeout pauses it, then bills its storage; a leaked
 * local sandbox keeps its processes running and its folder on disk.
 *
 * Hourly is enough: E2B pauses a leaked sandbox at its timeout (21 min by default, `onTimeout:
 * "pause"`), so an orphan runs at most that long; and one listing per hour keeps the cost of the
 * listing (in proportion to the fleet) off the one-minute sweep. The grace covers the one window
 * no lease protects: sessions.create makes the sandbox and only then writes its id on the row.
 */
import { isTorporError } from "../core/errors";
import { reapOrphanSandboxes, type ReapResult } from "../sandbox/e2b/reap";
import type { Step, WorkflowDeps } from "./types";

/** A tagged sandbox younger than this is never reaped (sessions.create's create-then-record window). */
export const REAP_GRACE_MS = 10 * 60_000;

export const REAP_STEP = "Reap sandboxes no session points at";

export async function reapOrphans(deps: WorkflowDeps): Promise<ReapResult> {
  const findSession = async (sessionId: string) => {
    try {
      return await deps.store.getSession(sessionId);
    } catch (error) {
      if (isTorporError(error, "NOT_FOUND")) return null;
      throw error;
    }
  };
  return reapOrphanSandboxes(deps.sandboxes, findSession, {
    now: deps.now(),
    graceMs: REAP_GRACE_MS,
    // One E2B key may serve other deployments, whose sessions are unknown here; local sandboxes are this data dir's.
    unknownSessions: deps.sandboxes.kind === "e2b" ? "keep" : "kill",
  });
}

/** The retention run's reaping step: its outcome is small (the killed list) and replay-safe (killing twice is fine). */
export function reapStep(step: Step, deps: WorkflowDeps): Promise<ReapResult> {
  return step.run(REAP_STEP, () => reapOrphans(deps));
}
