/**
 * Validators written once: schema.ts builds its tables from these field sets, and every function
 * in convex/ declares its `args` with them. The literal lists come from src/core, so a new state
 * or event is added in one place.
 *
 * Ids are Torpor's own (ses_…, cp_…, chg_…, run_…), made by the server-side adapter and stored in
 * an indexed field; Convex's `_id` stays internal.
 */
import { v, type Infer } from "convex/values";
import { LIFECYCLE_EVENTS } from "../src/core/lifecycle";
import { ACTIVITY_POLICIES, OPERATIONS, SESSION_STATES } from "../src/core/types";

const literals = <T extends string>(values: readonly T[]) => {
  const [a, b, ...rest] = values.map((value) => v.literal(value));
  return v.union(a!, b!, ...rest);
};

export const sessionState = literals(SESSION_STATES);
export const operation = literals(OPERATIONS);
export const lifecycleEvent = literals(LIFECYCLE_EVENTS);
export const provider = literals(["local", "e2b"] as const);
export const activityKind = literals(["ping", "file", "command", "api", "cpu"] as const);
export const activityPolicy = literals(ACTIVITY_POLICIES);
export const checkpointKind = literals(["hibernate", "manual", "scheduled"] as const);
export const checkpointStatus = literals(["pending", "committed", "deleted"] as const);
export const changeOperation = literals(["write", "delete", "rename"] as const);
export const runStatus = literals(["queued", "running", "completed", "failed", "cancelled"] as const);
export const finishedRunStatus = literals(["completed", "failed", "cancelled"] as const);
export const stepStatus = literals(["running", "completed", "failed"] as const);

export const lease = v.object({ holder: v.string(), operation, expiresAt: v.number() });
export const hooks = v.object({ beforeCheckpoint: v.array(v.string()), afterResume: v.array(v.string()), startCommand: v.optional(v.string()) });
export const retention = v.object({ keepLast: v.number(), keepDailyDays: v.number() });
// LifecycleReasonKind (src/core/types.ts): the only kinds any version of Torpor wrote.
export const reasonKind = v.union(v.literal("idle"), v.literal("request"), v.literal("create"), v.literal("restore"), v.literal("archive-policy"));
export const reason = v.object({ at: v.number(), kind: reasonKind, detail: v.string() });

export const sessionFields = {
  sessionId: v.string(),
  ownerId: v.string(),
  provider,
  sandboxId: v.nullable(v.string()),
  template: v.string(),
  state: sessionState,
  lastActivityAt: v.number(),
  lastActivityKind: activityKind,
  // A "cpu" activity's measured load (cores) and window length (src/store/rules applyActivity).
  // Optional so that documents written before the figure existed still match the schema on
  // deploy; sessionFromDoc reads an absent one as null.
  lastCpuCores: v.optional(v.nullable(v.number())),
  lastCpuWindowMs: v.optional(v.nullable(v.number())),
  idleTimeoutMs: v.number(),
  /** lastActivityAt + idleTimeoutMs: the idle sweep reads the (state, idleAt) index. */
  idleAt: v.number(),
  // Optional so that session documents written before the settings existed still match the schema
  // on deploy; sessionFromDoc reads an absent one as the default ("api+files", null).
  activity: v.optional(activityPolicy),
  flushIntervalMs: v.optional(v.nullable(v.number())),
  // The oldest pending change's time (null: none), kept by changes.ts, and what the flush step's
  // indexes read (model.ts unsavedFields): unsavedGlobalAt for sessions on the deployment's
  // interval, flushDueAt (unsavedSince + own interval) for sessions with their own; 0 = off: neither.
  unsavedSince: v.optional(v.nullable(v.number())),
  unsavedGlobalAt: v.optional(v.nullable(v.number())),
  flushDueAt: v.optional(v.nullable(v.number())),
  pausedAt: v.nullable(v.number()),
  archivedAt: v.nullable(v.number()),
  latestCheckpointId: v.nullable(v.string()),
  lease: v.nullable(lease),
  lastError: v.nullable(v.string()),
  hooks,
  retention,
  sleepReason: v.nullable(reason),
  wakeReason: v.nullable(reason),
  createdAt: v.number(),
  updatedAt: v.number(),
};

/** What a lease holder may change (SessionPatch); absent fields are left alone. */
export const sessionPatch = v.object({
  sandboxId: v.optional(v.nullable(v.string())),
  latestCheckpointId: v.optional(v.nullable(v.string())),
  lastError: v.optional(v.nullable(v.string())),
  sleepReason: v.optional(v.nullable(reason)),
  wakeReason: v.optional(v.nullable(reason)),
  hooks: v.optional(hooks),
  retention: v.optional(retention),
  idleTimeoutMs: v.optional(v.number()),
  activity: v.optional(activityPolicy),
  flushIntervalMs: v.optional(v.nullable(v.number())),
});

export const checkpointFields = {
  checkpointId: v.string(),
  sessionId: v.string(),
  parentId: v.nullable(v.string()),
  kind: checkpointKind,
  label: v.nullable(v.string()),
  status: checkpointStatus,
  pinned: v.boolean(),
  files: v.number(),
  bytes: v.number(),
  uploadedBytes: v.number(),
  createdAt: v.number(),
  committedAt: v.nullable(v.number()),
  deletedAt: v.nullable(v.number()),
};

export const changeFields = {
  changeId: v.string(),
  sessionId: v.string(),
  path: v.string(),
  operation: changeOperation,
  size: v.nullable(v.number()),
  at: v.number(),
  /** The checkpoint that flushed this change; null while pending. */
  checkpointId: v.nullable(v.string()),
  // When a checkpoint flushed it; null while pending. Optional so that change documents written
  // before the field existed still match the schema on deploy (those are never pruned: no time).
  flushedAt: v.optional(v.nullable(v.number())),
};

/** RunProgress (src/core/types): the running step's progress, replaced as a whole by runs.setProgress. */
export const runProgress = v.object({
  step: v.string(),
  phase: v.string(),
  filesDone: v.number(),
  filesTotal: v.number(),
  bytesDone: v.number(),
  bytesTotal: v.number(),
  updatedAt: v.number(),
});

export const runFields = {
  runId: v.string(),
  workflow: v.string(),
  sessionId: v.nullable(v.string()),
  status: runStatus,
  input: v.string(),
  result: v.nullable(v.string()),
  error: v.nullable(v.string()),
  externalId: v.nullable(v.string()),
  startedAt: v.number(),
  endedAt: v.nullable(v.number()),
  updatedAt: v.number(),
  // Optional so that run documents written before the field existed still match the schema on deploy.
  progress: v.optional(v.nullable(runProgress)),
};

export const step = v.object({
  name: v.string(),
  status: stepStatus,
  attempts: v.number(),
  startedAt: v.number(),
  endedAt: v.nullable(v.number()),
  error: v.nullable(v.string()),
  output: v.nullable(v.string()),
});

export const stepFields = { runId: v.string(), position: v.number(), ...step.fields };

export type StepValue = Infer<typeof step>;
