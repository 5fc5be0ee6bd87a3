/**
 * Settling a run that ended without its own clean-up step: on Inngest a run can stop where no
 * `catch` of the workflow sees it (cancelled from the dashboard, killed by a platform timeout past
 * its retries, a failure outside any step). Its session would stay hibernating, archiving,
 * resuming or restoring for good, holding a lease nobody renews. The function's onFailure handler
 * and the cancellation function (./cancelled) call `settleRun`, which reuses the workflows' own
 * `settle` (src/workflows/lease): it does nothing when another workflow holds a live lease.
 *
 * The run row is found by Inngest's run id (its externalId). A row that already recorded its
 * outcome was settled by the workflow itself (its catch ran): nothing is done twice.
 */
import { isTorporError } from "../src/core/errors";
import type { LifecycleEvent } from "../src/core/lifecycle";
import type { RunRecord } from "../src/core/types";
import { settle } from "../src/workflows/lease";
import type { WorkflowDeps } from "../src/workflows/types";

/**
 * The events that bring a session back to rest when each workflow stopped part way (the same
 * ones its own catch applies; restore cannot tell here whether the old sandbox is alive, so its
 * session goes back to archived, where a resume restores the latest committed checkpoint).
 */
export const RESTING_EVENTS: Readonly<Record<string, LifecycleEvent[]>> = {
  "hibernate-session": ["hibernate.aborted", "archive.aborted"],
  "archive-session": ["archive.aborted"],
  "resume-session": ["resume.failed"],
  "restore-session": ["resume.failed"],
  "snapshot-session": [],
  "delete-session": [],
};

/** How many of a workflow's newest runs are searched for Inngest's run id. */
const SEARCH_LIMIT = 200;

export async function findRunByExternalId(
  deps: WorkflowDeps,
  externalId: string,
  hint: { workflow?: string; sessionId?: string } = {},
): Promise<RunRecord | null> {
  const pick = (runs: RunRecord[]) => runs.find((r) => r.externalId === externalId) ?? null;
  const filter = { workflow: hint.workflow, limit: SEARCH_LIMIT };
  if (hint.sessionId) return pick(await deps.store.listRuns({ ...filter, sessionId: hint.sessionId }));
  // Without a session (a cancelled run's event names only the run): unfinished runs first.
  return pick(await deps.store.listRuns({ ...filter, status: "running" })) ?? pick(await deps.store.listRuns(filter));
}

export interface SettledRun {
  runId: string | null;
  sessionId: string | null;
  note: string;
  state: string | null;
}

export async function settleRun(
  deps: WorkflowDeps,
  run: RunRecord | null,
  outcome: { status: "failed" | "cancelled"; why: string },
): Promise<SettledRun> {
  if (!run) return { runId: null, sessionId: null, note: "no run row: the run ended before it recorded one", state: null };
  const base = { runId: run.id, sessionId: run.sessionId };
  if (run.status !== "running" && run.status !== "queued") {
    return { ...base, note: `the run recorded its own outcome (${run.status})`, state: null };
  }
  let state: string | null = null;
  let note = "no session";
  if (run.sessionId) {
    // The run row's id is the workflow's lease holder (inngest/wrap.ts).
    try {
      const settled = await settle(deps, {
        sessionId: run.sessionId,
        holder: run.id,
        events: RESTING_EVENTS[run.workflow] ?? [],
        patch: { lastError: `${run.workflow} ${outcome.status}: ${outcome.why}` },
      });
      state = settled.state;
      note = settled.note;
    } catch (error) {
      // A session deleted meanwhile has nothing left to settle; anything else is retried.
      if (!isTorporError(error, "NOT_FOUND")) throw error;
      note = "the session no longer exists";
    }
  }
  await deps.store.finishRun(run.id, { status: outcome.status, error: outcome.why });
  return { ...base, note, state };
}
