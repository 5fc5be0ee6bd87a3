/**
 * Session row rules shared by every StateStore adapter (SQLite and the Convex functions).
 *
 * Each function takes the current Session as read inside the adapter's transaction and returns
 * the Session to write back (or a refusal). Adapters only load, call one of these, and store:
 * so the lifecycle, lease and activity rules of src/core/lifecycle run identically on both.
 *
 * Terms: `idleAt` is the idle deadline, lastActivityAt + idleTimeoutMs, stored on the row so that
 * the idle sweep reads only idle rows through the (state, idleAt) index.
 */
import { idleDeadline } from "../core/deadlines";
import { ConflictError, ValidationError } from "../core/errors";
import {
  checkLeaseHolder,
  decideActivity,
  decideLease,
  nextState,
  stateTimes,
  wakeActivity,
  type LifecycleEvent,
} from "../core/lifecycle";
import { DEFAULT_ACTIVITY_POLICY } from "../core/session-policy";
import type { Operation, Session } from "../core/types";
import type { ActivityInput, NewSession, SessionPatch } from "./types";

/** Change rows one Convex mutation marks flushed (Convex caps writes per mutation). */
export const FLUSH_BATCH = 4000;

export const DEFAULT_RETENTION = { keepLast: 10, keepDailyDays: 7 } as const;

/** The row's idleAt column: the idle deadline, as core computes it for the sweep and the API. */
export const idleAt = idleDeadline;

export function newSessionRecord(id: string, input: NewSession, now: number): Session {
  const sandboxId = input.sandboxId ?? null;
  return {
    id,
    ownerId: input.ownerId,
    provider: input.provider,
    sandboxId,
    template: input.template,
    state: sandboxId === null ? "creating" : "running",
    lastActivityAt: now,
    lastActivityKind: "api",
    lastCpuCores: null,
    lastCpuWindowMs: null,
    idleTimeoutMs: input.idleTimeoutMs,
    activity: input.activity ?? DEFAULT_ACTIVITY_POLICY,
    flushIntervalMs: input.flushIntervalMs ?? null,
    pausedAt: null,
    archivedAt: null,
    latestCheckpointId: null,
    unsavedSince: null,
    lease: null,
    lastError: null,
    hooks: { beforeCheckpoint: [], afterResume: [], ...input.hooks },
    retention: { ...DEFAULT_RETENTION, ...input.retention },
    sleepReason: null,
    wakeReason: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Copies only the fields present in the patch (an explicit null clears a field). */
export function applyPatch(session: Session, patch: SessionPatch, now: number): Session {
  const next: Session = { ...session, updatedAt: now };
  for (const key of Object.keys(patch) as (keyof SessionPatch)[]) {
    const value = patch[key];
    if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  }
  return next;
}

/** A lifecycle event under the caller's lease (when a holder is given), with an optional patch. */
export function applyTransition(
  session: Session,
  event: LifecycleEvent,
  options: { holder?: string; patch?: SessionPatch; now: number },
): Session {
  if (options.holder !== undefined) checkLeaseHolder(session, options.holder, options.now);
  const result = nextState(session.state, event);
  if (!result.ok) {
    throw new ConflictError("CONFLICT", `Session '${session.id}': ${result.reason}`, {
      details: { sessionId: session.id, state: session.state, event },
    });
  }
  const moved: Session = {
    ...session,
    state: result.to,
    ...stateTimes(session, result.to, options.now),
    ...wakeActivity(session, event, options.now),
  };
  return applyPatch(moved, options.patch ?? {}, options.now);
}

export function applyUpdate(session: Session, patch: SessionPatch, options: { holder?: string; now: number }): Session {
  if (options.holder !== undefined) checkLeaseHolder(session, options.holder, options.now);
  return applyPatch(session, patch, options.now);
}

export type LeaseOutcome = { ok: true; session: Session } | { ok: false; reason: string; session: Session };

export function applyAcquire(
  session: Session,
  request: { holder: string; operation: Operation; ttlMs: number; now: number },
): LeaseOutcome {
  const decision = decideLease(session, request);
  if (!decision.ok) return { ok: false, reason: decision.reason, session };
  return { ok: true, session: { ...session, lease: decision.lease, updatedAt: request.now } };
}

/** Extends our live lease; a lost or expired lease throws LEASE_LOST. */
export function applyRenew(session: Session, holder: string, ttlMs: number, now: number): Session {
  checkLeaseHolder(session, holder, now);
  return { ...session, lease: { ...session.lease!, expiresAt: now + ttlMs }, updatedAt: now };
}

/** Null when there is nothing to write (the lease is not ours, or there is none). */
export function applyRelease(session: Session, holder: string, now: number): Session | null {
  if (!session.lease || session.lease.holder !== holder) return null;
  return { ...session, lease: null, updatedAt: now };
}

export interface ActivityOutcome {
  /** The row to write, or null when the ping is coalesced into an earlier write. */
  write: Session | null;
  session: Session;
  wake: boolean;
}

/**
 * The CPU figure describes the last activity: a "cpu" activity stores its measured load, and any
 * other written activity clears it, so a figure on the row is never one of an older activity
 * (a coalesced ping writes nothing and leaves both the kind and the figure as they were).
 */
export function applyActivity(session: Session, input: ActivityInput): ActivityOutcome {
  const decision = decideActivity(session, input.at, input.coalesceMs);
  if (decision.refused) {
    throw new ConflictError("CONFLICT", `Session '${session.id}' is ${session.state}: activity refused`, {
      details: { sessionId: session.id, state: session.state },
    });
  }
  if (!decision.write) return { write: null, session, wake: decision.wake };
  const cpu = input.kind === "cpu";
  const next: Session = {
    ...session,
    lastActivityAt: input.at,
    lastActivityKind: input.kind,
    lastCpuCores: cpu ? (input.cpuCores ?? null) : null,
    lastCpuWindowMs: cpu ? (input.cpuWindowMs ?? null) : null,
    updatedAt: input.at,
  };
  return { write: next, session: next, wake: decision.wake };
}

/**
 * Where a history prune stopped: the table it was scanning and the (time, id) key of the last row
 * it examined. Both adapters scan flushed changes by (flushedAt, id), then finished runs by
 * (endedAt, id), so the cursor is the same opaque string for both.
 */
export type HistoryPhase = "changes" | "runs";
export interface HistoryCursor {
  phase: HistoryPhase;
  after: { at: number; id: string } | null;
}

export function encodeHistoryCursor(cursor: HistoryCursor | null): string | null {
  return cursor === null ? null : JSON.stringify(cursor);
}

export function decodeHistoryCursor(cursor: string | null | undefined): HistoryCursor {
  if (cursor === null || cursor === undefined) return { phase: "changes", after: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = null;
  }
  const c = parsed as Partial<HistoryCursor> | null;
  const after = c?.after;
  const afterOk = after === null || (typeof after?.at === "number" && typeof after?.id === "string");
  if (!c || (c.phase !== "changes" && c.phase !== "runs") || !afterOk) {
    throw new ValidationError(`Not a history cursor: ${JSON.stringify(cursor)}`, { details: { cursor } });
  }
  return { phase: c.phase, after: after ?? null };
}

/**
 * The cursor after a batch: the same table after the last examined row while the batch stopped
 * early (full, or out of write budget), else the next table from its start, or null when done.
 */
export function nextHistoryCursor(
  phase: HistoryPhase,
  stoppedEarly: boolean,
  last: { at: number; id: string } | null,
): string | null {
  if (stoppedEarly && last !== null) return encodeHistoryCursor({ phase, after: last });
  return phase === "changes" ? encodeHistoryCursor({ phase: "runs", after: null }) : null;
}
