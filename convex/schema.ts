/**
 * Torpor's Convex schema: the same data as the embedded SQLite file (src/store/sqlite-schema.ts).
 * Fields come from validators.ts. Only the Torpor server writes or reads these tables, through the
 * secret-checked functions in this folder; browsers never call Convex directly.
 */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { sessionStatsFields } from "./stats";
import { changeFields, checkpointFields, runFields, sessionFields, stepFields } from "./validators";

export default defineSchema({
  // Writes: sessions.ts (create; transitions, leases and coalesced activity, each one mutation
  // applying src/core/lifecycle), checkpoints.ts (latest-checkpoint pointer on commit).
  // Reads: the server's tRPC API, the workflows, the idle sweep (by_state_idleAt: only rows that
  // are running and past their idle deadline) and the archive policy (by_state_pausedAt).
  // Deletes: never; a deleted session stays as a row in state "deleted".
  sessions: defineTable(sessionFields)
    .index("by_sessionId", ["sessionId"])
    .index("by_owner", ["ownerId", "createdAt"])
    .index("by_state_idleAt", ["state", "idleAt"])
    .index("by_state_pausedAt", ["state", "pausedAt"])
    .index("by_state_createdAt", ["state", "createdAt"])
    .index("by_createdAt", ["createdAt"])
    .index("by_sandbox", ["sandboxId"])
    // The flush step: running sessions whose oldest pending change is due (model.ts unsavedFields).
    .index("by_state_unsavedGlobalAt", ["state", "unsavedGlobalAt"])
    .index("by_state_flushDueAt", ["state", "flushDueAt"]),

  // Where a fleet-wide job (retention) stopped: a listSessionsPage cursor, so the next run goes on.
  // Writes and reads: sessions.ts (jobCursor, setJobCursor), once per retention run. Deletes: never.
  jobCursors: defineTable({ name: v.string(), cursor: v.nullable(v.string()), updatedAt: v.number() }).index("by_name", ["name"]),

  // Writes: the hibernate/snapshot workflows (create pending, commit once the manifest is
  // durable) and retention (mark deleted, pin). Reads: restore, retention, the dashboard.
  // Deletes: never; retention marks rows deleted once their objects may be collected.
  checkpoints: defineTable(checkpointFields)
    .index("by_checkpointId", ["checkpointId"])
    .index("by_session", ["sessionId", "createdAt"]),

  // Each session's checkpoint summary (latest committed checkpoint, storage), derived data.
  // Writes: checkpoints.ts, in the mutation of every commit and deletion (stats.ts). Reads: the
  // dashboard's session lists and overview (stats.summaries). Deletes: never (one row per session).
  sessionStats: defineTable(sessionStatsFields).index("by_sessionId", ["sessionId"]),

  // Writes: the activity API (file changes seen in the sandbox) and the hibernate workflow (marks
  // rows flushed by a checkpoint, with the time). Reads: the flush step (by_session_pending,
  // pending rows only). Deletes: history.ts, rows flushed longer ago than the history retention
  // age (by_flushedAt), never pending ones.
  changes: defineTable(changeFields)
    .index("by_changeId", ["changeId"])
    .index("by_session_pending", ["sessionId", "checkpointId", "at"])
    .index("by_flushedAt", ["flushedAt", "changeId"]),

  // Writes: the workflows (one row per hibernate, resume, restore, sweep… run). Reads: the
  // dashboard's runs pages. Deletes: history.ts, runs finished longer ago than the history
  // retention age (by_endedAt), except the newest of each workflow per session
  // (by_session_workflow) and those of a session mid-operation.
  runs: defineTable(runFields)
    .index("by_runId", ["runId"])
    .index("by_startedAt", ["startedAt"])
    .index("by_session", ["sessionId", "startedAt"])
    .index("by_status", ["status", "startedAt"])
    .index("by_workflow", ["workflow", "startedAt"])
    .index("by_endedAt", ["endedAt", "runId"])
    .index("by_session_workflow", ["sessionId", "workflow", "startedAt"]),

  // Steps of a run, one row per step name (upserted by recordStep), in a table of their own so that
  // a step's output never makes the run document grow toward Convex's document size limit.
  // Writes: the workflows, per step. Reads: the dashboard, with the run. Deletes: history.ts,
  // with their run.
  runSteps: defineTable(stepFields)
    .index("by_run_name", ["runId", "name"])
    .index("by_run_position", ["runId", "position"]),
});
