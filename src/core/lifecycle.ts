/**
 * The session lifecycle as pure functions, used by every state store inside one transaction.
 *
 *   creating → running → hibernating → paused → archiving → archived → restoring → running
 *   paused → resuming → running, plus failed and deleted.
 *
 * A lease (holder, operation, expiry) on the session row makes sure that at most one lifecycle
 * workflow acts on a session at a time. Expected refusals are returned as values; callers that
 * cannot go on turn them into ConflictError.
 */
import { ConflictError } from "./errors";
import { isTerminal, isTransient } from "./state-classes";
import { SESSION_STATES, type Lease, type Operation, type Session, type SessionState } from "./types";

export { isIdle } from "./deadlines";

export const LIFECYCLE_EVENTS = [
  "create.succeeded",
  "create.failed",
  "hibernate.start",
  "hibernate.paused",
  "hibernate.aborted",
  "archive.start",
  "archive.done",
  "archive.aborted",
  "resume.start",
  "resume.fallback",
  "resume.done",
  "resume.failed",
  "restore.start",
  "sandbox.lost",
  "fail",
  "delete",
] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

/**
 * For each event, the state it moves each allowed source state to. A state missing from an
 * event's map means the event is refused there.
 */
const TRANSITIONS: Record<LifecycleEvent, Partial<Record<SessionState, SessionState>>> = {
  "create.succeeded": { creating: "running" },
  "create.failed": { creating: "failed" },
  "hibernate.start": { running: "hibernating" },
  "hibernate.paused": { hibernating: "paused" },
  // Activity won the race, or something failed before the pause: the sandbox keeps running.
  "hibernate.aborted": { hibernating: "running" },
  // From hibernating for providers that cannot pause: checkpoint, then kill.
  "archive.start": { paused: "archiving", hibernating: "archiving" },
  "archive.done": { archiving: "archived" },
  "archive.aborted": { archiving: "paused" },
  "resume.start": { paused: "resuming", archived: "restoring", failed: "restoring" },
  // The provider no longer has the paused sandbox: restore the checkpoint into a new one.
  "resume.fallback": { resuming: "restoring" },
  "resume.done": { resuming: "running", restoring: "running" },
  // Back to the resting state the resume started from; the checkpoint is untouched.
  "resume.failed": { resuming: "paused", restoring: "archived" },
  "restore.start": { running: "restoring", paused: "restoring", archived: "restoring", failed: "restoring" },
  "sandbox.lost": { running: "archived", paused: "archived", archiving: "archived" },
  fail: {
    creating: "failed",
    running: "failed",
    hibernating: "failed",
    paused: "failed",
    archiving: "failed",
    archived: "failed",
    resuming: "failed",
    restoring: "failed",
  },
  delete: {
    creating: "deleted",
    running: "deleted",
    hibernating: "deleted",
    paused: "deleted",
    archiving: "deleted",
    archived: "deleted",
    resuming: "deleted",
    restoring: "deleted",
    failed: "deleted",
  },
};

export type TransitionResult =
  | { ok: true; from: SessionState; to: SessionState }
  | { ok: false; reason: string };

export function nextState(state: SessionState, event: LifecycleEvent): TransitionResult {
  const to = TRANSITIONS[event][state];
  if (to === undefined) return { ok: false, reason: `'${event}' is not allowed in state '${state}'` };
  return { ok: true, from: state, to };
}

/**
 * The states from which an operation may take the lease. An operation's own transient state is
 * included (hibernating for hibernate, archiving for archive, resuming/restoring for resume and
 * restore): a workflow that crashed there leaves the session in it, and the retry or the next
 * run must be able to take over once the crashed lease expires, or the session is stuck.
 */
export const OPERATION_STATES: Record<Operation, readonly SessionState[]> = {
  create: ["creating"],
  hibernate: ["running", "hibernating"],
  archive: ["paused", "hibernating", "archiving"],
  resume: ["paused", "archived", "failed", "resuming", "restoring"],
  restore: ["running", "paused", "archived", "failed", "restoring"],
  snapshot: ["running"],
  delete: SESSION_STATES.filter((s) => !isTerminal(s)),
};

export function isLeaseLive(lease: Lease | null, now: number): lease is Lease {
  return lease !== null && lease.expiresAt > now;
}

export type LeaseDecision = { ok: true; lease: Lease } | { ok: false; reason: string; heldBy?: Lease };

/**
 * May `holder` take the session's lease for `operation`? A live lease of another holder refuses;
 * an expired one is taken over (its workflow crashed or stalled past its TTL).
 */
export function decideLease(
  session: Pick<Session, "state" | "lease">,
  request: { holder: string; operation: Operation; now: number; ttlMs: number },
): LeaseDecision {
  const { holder, operation, now, ttlMs } = request;
  if (isLeaseLive(session.lease, now) && session.lease.holder !== holder) {
    return { ok: false, reason: `session is busy: ${session.lease.operation} holds the lease`, heldBy: session.lease };
  }
  if (!OPERATION_STATES[operation].includes(session.state)) {
    return { ok: false, reason: `cannot ${operation} a session in state '${session.state}'` };
  }
  return { ok: true, lease: { holder, operation, expiresAt: now + ttlMs } };
}

/** A lease check for a write made under a lease: it must still be ours and live. */
export function checkLeaseHolder(session: Pick<Session, "id" | "lease">, holder: string, now: number): void {
  if (!session.lease || session.lease.holder !== holder) {
    throw new ConflictError("LEASE_LOST", `Lease on session '${session.id}' is not held by '${holder}'`, {
      details: { sessionId: session.id, holder, current: session.lease },
    });
  }
  if (session.lease.expiresAt <= now) {
    throw new ConflictError("LEASE_LOST", `Lease on session '${session.id}' expired`, {
      details: { sessionId: session.id, holder, expiresAt: session.lease.expiresAt },
    });
  }
}

export interface ActivityDecision {
  /** Whether the store must write the row (otherwise the ping is a read). */
  write: boolean;
  /** Whether the caller should request a resume (the session sleeps). */
  wake: boolean;
  /** Whether the activity is refused (the session is deleted). */
  refused: boolean;
}

/**
 * What an activity ping does in each state. Pings are coalesced: the row is written only when the
 * ping moves last activity by more than `coalesceMs`. During hibernation every ping is written,
 * because the hibernate workflow looks at last activity right before it pauses: activity wins.
 */
export function decideActivity(
  session: Pick<Session, "state" | "lastActivityAt">,
  at: number,
  coalesceMs: number,
): ActivityDecision {
  const moved = at - session.lastActivityAt > coalesceMs;
  // Per state, not per class (core/state-classes): archiving is transient but wakes like paused
  // (its sandbox is paused), and hibernating writes every ping.
  switch (session.state) {
    case "running":
    case "creating":
    case "resuming":
    case "restoring":
      return { write: moved, wake: false, refused: false };
    case "hibernating":
      return { write: at > session.lastActivityAt, wake: false, refused: false };
    case "paused":
    case "archiving":
    case "archived":
    case "failed":
      return { write: moved, wake: true, refused: false };
    case "deleted":
      return { write: false, wake: false, refused: true };
    default: {
      const never: never = session.state;
      throw new Error(`Unknown session state ${String(never)}`);
    }
  }
}

/**
 * The time fields a move to `to` sets: entering paused stamps pausedAt, entering archived stamps
 * archivedAt (the archive policy and the dashboard read them), unless already set: an aborted
 * archive or a failed resume goes back to sleep without restarting the archive clock. Waking up
 * to running clears both, so a later sleep is measured from its own start.
 */
export function stateTimes(
  session: Pick<Session, "pausedAt" | "archivedAt">,
  to: SessionState,
  now: number,
): Pick<Session, "pausedAt" | "archivedAt"> {
  switch (to) {
    case "paused":
      return { pausedAt: session.pausedAt ?? now, archivedAt: session.archivedAt };
    case "archived":
      return { pausedAt: session.pausedAt, archivedAt: session.archivedAt ?? now };
    case "running":
      return { pausedAt: null, archivedAt: null };
    default:
      return { pausedAt: session.pausedAt, archivedAt: session.archivedAt };
  }
}

/**
 * Waking restarts the idle clock: a session that a resume or restore brought back counts as active
 * at the moment it is running again. Without this, a restore that took longer than the idle
 * timeout would leave a session the sweep finds idle at once, and hibernates again.
 */
export function wakeActivity(
  session: Pick<Session, "lastActivityAt">,
  event: LifecycleEvent,
  now: number,
): Pick<Session, "lastActivityAt"> {
  return { lastActivityAt: event === "resume.done" ? Math.max(session.lastActivityAt, now) : session.lastActivityAt };
}

/** The states a session rests in between workflows. */
export const RESTING_STATES: readonly SessionState[] = SESSION_STATES.filter((s) => !isTransient(s));
