/**
 * Lease steps shared by the lifecycle workflows. A workflow run is the lease holder (its run id),
 * so a run continued after a crash still holds its own lease and can go on where it stopped.
 *
 * - takeLease: acquire (or find that we already hold) the session's lease, then apply the
 *   workflow's start transition unless a replay already applied it. Idempotent.
 * - guardLease: renew before each step that changes things; a lost lease ends the run
 *   (LEASE_LOST is not retriable), because another workflow now owns the session.
 * - settle: after a failure, move the session to a clear resting state and release the lease,
 *   unless another workflow has taken the session over meanwhile.
 */
import { ConflictError, describeError, isTorporError, ValidationError } from "../core/errors";
import { isLeaseLive, nextState, type LifecycleEvent } from "../core/lifecycle";
import type { Operation, SessionHooks, SessionState } from "../core/types";
import type { SessionPatch } from "../store/types";
import type { Step, WorkflowDeps } from "./types";

/** What a workflow needs to know about its session once it holds the lease (JSON, journaled). */
export interface LeaseInfo {
  ok: true;
  state: SessionState;
  sandboxId: string | null;
  latestCheckpointId: string | null;
  lastActivityAt: number;
  template: string;
  hooks: SessionHooks;
}

export type LeaseOutcome = LeaseInfo | { ok: false; reason: string; state: SessionState };

export interface TakeLeaseInput {
  sessionId: string;
  holder: string;
  operation: Operation;
  /** The lifecycle event that starts the operation, applied once. */
  start?: LifecycleEvent;
  patch?: SessionPatch;
  /** "wait": a lease held by another workflow is a retriable error; "skip": the run ends. */
  onBusy: "skip" | "wait";
  /** States in which there is nothing to do (e.g. resume of a running session). */
  doneStates?: SessionState[];
}

export async function takeLease(deps: WorkflowDeps, input: TakeLeaseInput): Promise<LeaseOutcome> {
  const { store, config } = deps;
  const ttlMs = config.lifecycle.leaseTtlMs;
  let session = await store.getSession(input.sessionId);
  if (session.lease?.holder === input.holder) {
    session = await store.renewLease(input.sessionId, input.holder, ttlMs, deps.now());
  } else {
    if (input.doneStates?.includes(session.state)) {
      return { ok: false, reason: `nothing to do: the session is ${session.state}`, state: session.state };
    }
    const acquired = await store.acquireLease(input.sessionId, {
      holder: input.holder,
      operation: input.operation,
      ttlMs,
      now: deps.now(),
    });
    if (!acquired.ok) {
      const lease = acquired.session.lease;
      if (input.onBusy === "wait" && isLeaseLive(lease, deps.now()) && lease.holder !== input.holder) {
        throw new ConflictError("LEASE_HELD", `Session '${input.sessionId}' is busy: ${acquired.reason}`, {
          details: { sessionId: input.sessionId, heldBy: lease },
        });
      }
      return { ok: false, reason: acquired.reason, state: acquired.session.state };
    }
    session = acquired.session;
  }
  // Last activity as of taking the lease: anything later happened during the operation.
  const lastActivityAt = session.lastActivityAt;
  if (input.start && nextState(session.state, input.start).ok) {
    session = await store.transition(input.sessionId, input.start, {
      holder: input.holder,
      patch: input.patch,
      now: deps.now(),
    });
  }
  return {
    ok: true,
    state: session.state,
    sandboxId: session.sandboxId,
    latestCheckpointId: session.latestCheckpointId,
    lastActivityAt,
    template: session.template,
    hooks: session.hooks,
  };
}

/** Renews our lease before a step that changes things. Throws LEASE_LOST (not retriable). */
export async function guardLease(deps: WorkflowDeps, sessionId: string, holder: string): Promise<void> {
  await deps.store.renewLease(sessionId, holder, deps.config.lifecycle.leaseTtlMs, deps.now());
}

/**
 * Runs long work (a checkpoint, a restore) while renewing our lease every third of its TTL, so a
 * large workspace cannot outlast the lease. A renewal that fails (the lease was taken over) fails
 * the work once it ends: its result is not used.
 */
export async function keepLease<T>(deps: WorkflowDeps, sessionId: string, holder: string, work: () => Promise<T>): Promise<T> {
  const every = Math.max(250, Math.floor(deps.config.lifecycle.leaseTtlMs / 3));
  let lost: unknown;
  const timer = setInterval(() => {
    guardLease(deps, sessionId, holder).catch((error: unknown) => (lost ??= error));
  }, every);
  try {
    const result = await work();
    if (lost) throw lost;
    return result;
  } finally {
    clearInterval(timer);
  }
}

export async function releaseLease(deps: WorkflowDeps, sessionId: string, holder: string): Promise<null> {
  await deps.store.releaseLease(sessionId, holder);
  return null;
}

/**
 * Puts the session in a resting state after a failure: applies `event` when it is allowed from
 * the current state, records the error, releases our lease. Does nothing if another workflow holds
 * a live lease: that workflow owns the session now.
 */
export async function settle(
  deps: WorkflowDeps,
  input: { sessionId: string; holder: string; events: LifecycleEvent[]; patch?: SessionPatch },
): Promise<{ state: SessionState; note: string }> {
  const { store } = deps;
  const now = deps.now();
  let session = await store.getSession(input.sessionId);
  if (isLeaseLive(session.lease, now) && session.lease.holder !== input.holder) {
    return { state: session.state, note: `left to ${session.lease.operation}, which holds the lease` };
  }
  const ours = isLeaseLive(session.lease, now) ? input.holder : undefined;
  const event = input.events.find((e) => nextState(session.state, e).ok);
  if (event) {
    session = await store.transition(input.sessionId, event, { holder: ours, patch: input.patch, now });
  } else if (input.patch) {
    session = await store.updateSession(input.sessionId, input.patch, { holder: ours, now });
  }
  await store.releaseLease(input.sessionId, input.holder);
  return { state: session.state, note: event ? `applied ${event}` : "state unchanged" };
}

/**
 * The failure path of a workflow that leaves the state as it is (snapshot, flush, delete): a step
 * that records `<what> failed: <error>` and releases the lease (settle with no event), then the
 * error again, so that the engine retries or fails the run.
 */
export async function releaseAfterFailure(step: Step, deps: WorkflowDeps, input: { sessionId: string; runId: string; what: string; error: unknown }): Promise<never> {
  const { sessionId, runId, what, error } = input;
  await step.run("Release the lease after a failure", () =>
    settle(deps, { sessionId, holder: runId, events: [], patch: { lastError: `${what} failed: ${describeError(error)}` } }),
  );
  throw error;
}

/** The session's sandbox id; a session without one cannot be saved from (a broken invariant). */
export function requireSandbox(lease: LeaseInfo, sessionId: string): string {
  if (lease.sandboxId) return lease.sandboxId;
  throw new ValidationError(`Session '${sessionId}' in state '${lease.state}' has no sandbox`, {
    details: { sessionId, state: lease.state },
  });
}

/** The provider no longer has the sandbox: the session keeps only its checkpoints (→ archived). */
export function isSandboxLost(error: unknown): boolean {
  return isTorporError(error, "SANDBOX_GONE") || isTorporError(error, "SANDBOX_NOT_FOUND");
}

/**
 * Records a lost sandbox: the session becomes archived without a sandbox (resume then restores its
 * latest checkpoint), with the reason in lastError. Changes made after that checkpoint were in the
 * lost sandbox and cannot be saved any more: the message says how many.
 */
export async function markSandboxLost(deps: WorkflowDeps, sessionId: string, why: string): Promise<string> {
  const session = await deps.store.getSession(sessionId);
  const pending = await deps.store.listPendingChanges(sessionId);
  const message = `The provider lost sandbox '${session.sandboxId}' (${why}); ${pending.length} file change(s) after the last checkpoint could not be saved`;
  if (nextState(session.state, "sandbox.lost").ok) {
    await deps.store.transition(sessionId, "sandbox.lost", { patch: { sandboxId: null, lastError: message }, now: deps.now() });
  }
  return message;
}
