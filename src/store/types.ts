/**
 * The StateStore port: sessions, checkpoints, change rows and runs. Production: Convex
 * (convex/ functions called by src/store/convex.ts). Embedded default: SQLite (src/store/sqlite.ts).
 *
 * Every state change applies the pure rules of src/core/lifecycle inside one transaction (a
 * Convex mutation, an SQLite transaction). Refusals throw typed errors: NotFoundError for unknown
 * ids, ConflictError("CONFLICT") for refused transitions, ConflictError("LEASE_HELD"/"LEASE_LOST")
 * for lease problems. Every adapter passes tests/store/contract.ts.
 */
import type { LifecycleEvent } from "../core/lifecycle";
import type {
  ActivityKind,
  ActivityPolicy,
  ChangeOperation,
  ChangeRecord,
  CheckpointKind,
  CheckpointRecord,
  LifecycleReason,
  Operation,
  ProviderKind,
  RetentionPolicy,
  RunProgress,
  RunRecord,
  RunStatus,
  Session,
  SessionHooks,
  SessionState,
  StepRecord,
} from "../core/types";
import type { SessionSummary } from "./summary";

export interface NewSession {
  ownerId: string;
  provider: ProviderKind;
  template: string;
  idleTimeoutMs: number;
  hooks?: Partial<SessionHooks>;
  retention?: Partial<RetentionPolicy>;
  /** Default "api+files". */
  activity?: ActivityPolicy;
  /** Default null (the deployment's TORPOR_FLUSH_INTERVAL_MS). */
  flushIntervalMs?: number | null;
  /** Set when the sandbox exists already; the session then starts in "running". */
  sandboxId?: string | null;
  now?: number;
}

/** Fields a lease holder may change along with (or without) a transition. */
export interface SessionPatch {
  sandboxId?: string | null;
  latestCheckpointId?: string | null;
  lastError?: string | null;
  sleepReason?: LifecycleReason | null;
  wakeReason?: LifecycleReason | null;
  hooks?: SessionHooks;
  retention?: RetentionPolicy;
  idleTimeoutMs?: number;
  activity?: ActivityPolicy;
  /** null: back to the deployment's interval. */
  flushIntervalMs?: number | null;
}

export interface ActivityInput {
  at: number;
  kind: ActivityKind;
  coalesceMs: number;
  /** A "cpu" activity's measured load (cores over the window) and window length; stored on the row. */
  cpuCores?: number;
  cpuWindowMs?: number;
}

export interface ActivityResult {
  session: Session;
  /** Whether this ping wrote the row (false: coalesced into an earlier write, a read only). */
  written: boolean;
  /** The session sleeps: the caller should request a resume. */
  wake: boolean;
}

export type AcquireResult = { ok: true; session: Session } | { ok: false; reason: string; session: Session };

export interface NewChange {
  path: string;
  operation: ChangeOperation;
  size?: number | null;
  at?: number;
}

export interface NewCheckpoint {
  id: string;
  sessionId: string;
  parentId: string | null;
  kind: CheckpointKind;
  label?: string | null;
  now?: number;
}

export interface CheckpointStats {
  files: number;
  bytes: number;
  uploadedBytes: number;
}

export interface NewRun {
  id?: string;
  workflow: string;
  sessionId: string | null;
  input: unknown;
  externalId?: string | null;
  now?: number;
}

/** One batch of history pruning (see src/core/history for what is kept and why). */
export interface HistoryPruneRequest {
  /** Change rows flushed by a checkpoint before this time go. */
  changesFlushedBefore: number;
  /** Finished runs (and their steps) that ended before this time go, the protected ones excepted. */
  runsEndedBefore: number;
  /** Where the previous call stopped (its result's cursor); absent or null to start. */
  cursor?: string | null;
  /** Rows this call examines at most (default HISTORY_BATCH). */
  limit?: number;
  /** The time leases are judged at. */
  now?: number;
}

export interface HistoryPruneResult {
  /** Change rows deleted. */
  changes: number;
  /** Runs deleted, and the steps deleted with them. */
  runs: number;
  steps: number;
  /** Rows examined and kept (pending, protected, or of a session mid-operation). */
  kept: number;
  /** Pass to the next call; null when nothing older than the cut-offs is left to examine. */
  cursor: string | null;
}

/** One page of every session, in a stable order; pass `cursor` back for the next page. */
export interface SessionPage {
  sessions: Session[];
  /** null once the last page has been returned. */
  cursor: string | null;
}

/** A running session with pending changes, and the time of its oldest pending change. */
export interface UnsavedSession {
  session: Session;
  unsavedSince: number;
}

/** listRuns' filter: any combination; newest first, at most `limit` (default 100). */
export interface RunFilter {
  sessionId?: string;
  status?: RunStatus;
  workflow?: string;
  startedAfter?: number;
  startedBefore?: number;
  limit?: number;
  steps?: boolean;
}

export interface StateStore {
  readonly kind: "sqlite" | "convex";

  // Sessions
  createSession(input: NewSession): Promise<Session>;
  /** Throws NotFoundError. */
  getSession(sessionId: string): Promise<Session>;
  findSession(sessionId: string): Promise<Session | null>;
  findSessionBySandbox(sandboxId: string): Promise<Session | null>;
  listSessions(filter?: { ownerId?: string; state?: SessionState; limit?: number }): Promise<Session[]>;
  /**
   * Every session (deleted ones included), a page at a time, for the fleet-wide jobs (retention,
   * history): unlike listSessions it has no cap. The cursor is the store's own (opaque).
   */
  listSessionsPage(options?: { cursor?: string | null; limit?: number }): Promise<SessionPage>;
  /** Running sessions whose idle deadline (last activity + idle timeout) is at or before `now`, read through an index. */
  listIdleSessions(now: number, limit?: number): Promise<Session[]>;
  /** Paused sessions paused at or before `before` (archive policy). */
  listPausedBefore(before: number, limit?: number): Promise<Session[]>;
  /**
   * Running sessions whose oldest pending change is due for a flush at `now`: at or before
   * now - the session's own flushIntervalMs, or now - `globalIntervalMs` for sessions on the
   * deployment's (null); 0 or less is off. Read through indexes on the session row's oldest
   * pending change time (kept by recordChanges and markChangesFlushed): O(due sessions).
   */
  listUnsavedSessions(now: number, globalIntervalMs: number, limit?: number): Promise<UnsavedSession[]>;

  /** Where the fleet-wide job `name` stopped (an opaque cursor of listSessionsPage), or null. */
  getJobCursor(name: string): Promise<string | null>;
  /** Saves (or, with null, clears) where the job `name` stopped. */
  setJobCursor(name: string, cursor: string | null, now?: number): Promise<void>;

  /** Coalesced: writes only when it moves last activity by more than `coalesceMs`. */
  recordActivity(sessionId: string, input: ActivityInput): Promise<ActivityResult>;

  acquireLease(
    sessionId: string,
    request: { holder: string; operation: Operation; ttlMs: number; now?: number },
  ): Promise<AcquireResult>;
  renewLease(sessionId: string, holder: string, ttlMs: number, now?: number): Promise<Session>;
  /** Releasing a lease that is not ours (any more) is a no-op. */
  releaseLease(sessionId: string, holder: string): Promise<void>;

  /** Applies a lifecycle event under the caller's lease (when given) and an optional patch, atomically. */
  transition(
    sessionId: string,
    event: LifecycleEvent,
    options?: { holder?: string; patch?: SessionPatch; now?: number },
  ): Promise<Session>;
  /** Changes fields without a transition, under the caller's lease (when given). */
  updateSession(sessionId: string, patch: SessionPatch, options?: { holder?: string; now?: number }): Promise<Session>;

  // Checkpoints
  createCheckpoint(input: NewCheckpoint): Promise<CheckpointRecord>;
  /**
   * Marks a pending checkpoint committed and points the session's latest checkpoint at it, in one
   * transaction. Committing an already committed checkpoint is a no-op (idempotent step retries).
   */
  commitCheckpoint(checkpointId: string, stats: CheckpointStats, now?: number): Promise<CheckpointRecord>;
  getCheckpoint(checkpointId: string): Promise<CheckpointRecord | null>;
  /** Newest first; deleted ones only when asked. */
  listCheckpoints(sessionId: string, options?: { includeDeleted?: boolean }): Promise<CheckpointRecord[]>;
  markCheckpointDeleted(checkpointId: string, now?: number): Promise<void>;
  /**
   * The checkpoint summary of each given session (src/store/summary), in the order given, in one
   * bounded read: what a dashboard list shows instead of listing each session's checkpoints.
   */
  sessionSummaries(sessions: Pick<Session, "id" | "latestCheckpointId">[]): Promise<SessionSummary[]>;
  setCheckpointPinned(checkpointId: string, pinned: boolean): Promise<CheckpointRecord>;

  // Change rows
  recordChanges(sessionId: string, changes: NewChange[]): Promise<number>;
  listPendingChanges(sessionId: string, limit?: number): Promise<ChangeRecord[]>;
  /** Marks pending changes recorded at or before `upTo` as flushed by this checkpoint, at `now`. */
  markChangesFlushed(sessionId: string, checkpointId: string, upTo: number, now?: number): Promise<number>;

  // Runs (what the dashboard shows; the embedded engine's journal)
  createRun(input: NewRun): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | null>;
  /**
   * Newest first. `steps: false` leaves each run's steps empty: a list that shows no steps must not
   * read them (on Convex each run's steps are one more index range of the same transaction).
   * `startedAfter` (inclusive) and `startedBefore` (exclusive) bound startedAt inside the index
   * range, so a time window or the next page reads only its own runs.
   */
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /** Upserts one step of a run by its name. */
  recordStep(runId: string, step: StepRecord): Promise<void>;
  finishRun(
    runId: string,
    outcome: { status: Exclude<RunStatus, "queued" | "running">; result?: unknown; error?: string | null; now?: number },
  ): Promise<RunRecord>;
  setRunStatus(runId: string, status: RunStatus, now?: number): Promise<void>;
  /**
   * Replaces the run's progress (null clears it). Touches nothing else, not even updatedAt: it is
   * written often while a step runs, and the run's own history should not move with it.
   */
  setRunProgress(runId: string, progress: RunProgress | null): Promise<void>;

  // History
  /**
   * Deletes, in one bounded transaction, flushed change rows and finished runs older than the
   * cut-offs, by the rules of src/core/history. Call again with the returned cursor until it is null.
   */
  pruneHistory(request: HistoryPruneRequest): Promise<HistoryPruneResult>;

  close(): Promise<void>;
}
