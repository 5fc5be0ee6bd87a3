/**
 * Torpor's domain records, shared by every store adapter, workflow and API. Times are epoch
 * milliseconds. Ids are opaque strings made by src/core/ids.
 */

export const SESSION_STATES = [
  "creating",
  "running",
  "hibernating",
  "paused",
  "archiving",
  "archived",
  "resuming",
  "restoring",
  "failed",
  "deleted",
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** The lifecycle operations a workflow can hold a session's lease for. */
export const OPERATIONS = ["create", "hibernate", "archive", "resume", "restore", "snapshot", "delete"] as const;
export type Operation = (typeof OPERATIONS)[number];

export type ProviderKind = "local" | "e2b";
/** "cpu": the idle sweep found the sandbox busy (src/core/cpu-activity), not a request. */
export type ActivityKind = "ping" | "file" | "command" | "api" | "cpu";

/**
 * What counts toward a session's idle deadline: "api" = only calls through Torpor's API (pings,
 * commands, files.write, resume); "api+files" (the default) = also files changed by the sandbox's
 * own processes (the change feed). Under either, those changes still become change rows.
 */
export const ACTIVITY_POLICIES = ["api", "api+files"] as const;
export type ActivityPolicy = (typeof ACTIVITY_POLICIES)[number];

export interface Lease {
  holder: string;
  operation: Operation;
  expiresAt: number;
}

export interface SessionHooks {
  /** Run inside the sandbox before a checkpoint (stop the dev server, git commit…). */
  beforeCheckpoint: string[];
  /** Run inside the sandbox after a resume or restore (start the dev server…). */
  afterResume: string[];
  /**
   * The session's long-running command (a dev server), started with its first sandbox and again
   * in every new sandbox a restore makes, before the after-resume hooks. Absent: none.
   */
  startCommand?: string;
}

export interface RetentionPolicy {
  keepLast: number;
  keepDailyDays: number;
}

/**
 * What put a session to sleep or woke it: idle (the sweep), request (the API, the CLI, an
 * activity wake-up), create (a new session), restore (restore to a checkpoint), archive-policy
 * (archived after the paused period).
 */
export type LifecycleReasonKind = "idle" | "request" | "create" | "restore" | "archive-policy";
/** The kind a hibernate request carries (HibernateEvent data.kind). */
export type SleepKind = Extract<LifecycleReasonKind, "idle" | "request">;

/** Why a session went to sleep or woke up: the answer to "why is it awake?". */
export interface LifecycleReason {
  at: number;
  kind: LifecycleReasonKind;
  detail: string;
}

export interface Session {
  id: string;
  ownerId: string;
  provider: ProviderKind;
  sandboxId: string | null;
  template: string;
  state: SessionState;
  lastActivityAt: number;
  lastActivityKind: ActivityKind;
  /**
   * The load the idle sweep's CPU check measured when it recorded the last activity (cores over
   * the window, src/core/cpu-activity) and that window's length; null unless the last activity
   * is a "cpu" one (or it was recorded before the figure was stored).
   */
  lastCpuCores: number | null;
  lastCpuWindowMs: number | null;
  idleTimeoutMs: number;
  activity: ActivityPolicy;
  /** This session's flush interval (the RPO); null: TORPOR_FLUSH_INTERVAL_MS; 0: no continuous flush. */
  flushIntervalMs: number | null;
  pausedAt: number | null;
  archivedAt: number | null;
  latestCheckpointId: string | null;
  /** Oldest change not yet in a checkpoint (null: none); kept on the row by the store at recordChanges and markChangesFlushed. */
  unsavedSince?: number | null;
  lease: Lease | null;
  lastError: string | null;
  hooks: SessionHooks;
  retention: RetentionPolicy;
  sleepReason: LifecycleReason | null;
  wakeReason: LifecycleReason | null;
  createdAt: number;
  updatedAt: number;
}

export type CheckpointKind = "hibernate" | "manual" | "scheduled";
export type CheckpointStatus = "pending" | "committed" | "deleted";

/** A checkpoint row in the state store; `id` is the checkpoint's id in the object store. */
export interface CheckpointRecord {
  id: string;
  sessionId: string;
  parentId: string | null;
  kind: CheckpointKind;
  label: string | null;
  status: CheckpointStatus;
  pinned: boolean;
  files: number;
  bytes: number;
  uploadedBytes: number;
  createdAt: number;
  committedAt: number | null;
  deletedAt: number | null;
}

export type ChangeOperation = "write" | "delete" | "rename";

/** A change row: one path that may differ from the latest checkpoint. */
export interface ChangeRecord {
  id: string;
  sessionId: string;
  path: string;
  operation: ChangeOperation;
  size: number | null;
  at: number;
  /** The checkpoint that flushed this change; null while pending. */
  checkpointId: string | null;
}

export type RunStatus = "queued" | "running" | "completed" | "failed" | "cancelled";
export type StepStatus = "running" | "completed" | "failed";

export interface StepRecord {
  /** The step id as written in the workflow ("Flush pending changes"). */
  name: string;
  status: StepStatus;
  attempts: number;
  startedAt: number;
  endedAt: number | null;
  error: string | null;
  /** JSON of the step's result: the embedded engine's journal for replay after a crash. */
  output: string | null;
}

/**
 * How far the long step of a running run has got (a checkpoint being taken, restored or verified),
 * as the checkpoint engine reports it. Advisory: written throttled while the step runs, cleared
 * (null) when it ends, so it may lag the real work by a moment.
 */
export interface RunProgress {
  /** The step it belongs to ("Flush pending changes and take a checkpoint"). */
  step: string;
  /** The checkpoint engine's phase: scan, hash, upload, manifest; download, write, verify. */
  phase: string;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  updatedAt: number;
}

export interface RunRecord {
  id: string;
  workflow: string;
  sessionId: string | null;
  status: RunStatus;
  /** The triggering event's JSON, so that a crashed run can be continued. */
  input: string;
  steps: StepRecord[];
  /** Free-form outcome for the dashboard: the rung a resume used, counts, warnings. */
  result: string | null;
  error: string | null;
  /** Where Inngest runs the workflow: the run's id there, for a dashboard link. */
  externalId: string | null;
  startedAt: number;
  endedAt: number | null;
  updatedAt: number;
  /** The running step's progress, when it reports any; null otherwise. */
  progress: RunProgress | null;
}
