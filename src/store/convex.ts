/**
 * The production StateStore: the Torpor server calls the functions in convex/ over HTTP with
 * ConvexHttpClient, passing TORPOR_CONVEX_SECRET on every call (see convex/auth.ts for why a
 * shared secret). All rules run inside the Convex mutations; this file only shapes arguments.
 *
 * Ids are made here (src/core/ids needs node:crypto, which Convex's default runtime lacks) and
 * passed in, so a retried create with the same id stays idempotent.
 */
import { ConvexHttpClient } from "convex/browser";
import { anyApi } from "convex/server";
import type { api as generatedApi } from "../../convex/_generated/api";
import { NotFoundError } from "../core/errors";
import { newId } from "../core/ids";
import type { ChangeRecord, CheckpointRecord, RunRecord, Session } from "../core/types";
import { ConvexWire, type ConvexClientLike } from "./convex-client";
import { FLUSH_BATCH } from "./rules";
import type { SessionSummary } from "./summary";
import type { AcquireResult, ActivityResult, HistoryPruneResult, SessionPage, StateStore } from "./types";

export type { ConvexClientLike } from "./convex-client";

// convex/_generated/api is `anyApi` carrying the deployment's function types. Only its type is
// imported, so that at run time src/ never imports from convex/ (the layer above it).
const api = anyApi as unknown as typeof generatedApi;

export interface ConvexStoreOptions {
  url: string;
  secret: string;
  /** A client to use instead of a new ConvexHttpClient(url): tests pass a convex-test instance. */
  client?: ConvexClientLike;
}

export function createConvexStore(options: ConvexStoreOptions): StateStore {
  const client = options.client ?? (new ConvexHttpClient(options.url) as unknown as ConvexClientLike);
  const wire = new ConvexWire(client, options.secret);
  const q = <T>(ref: Parameters<ConvexWire["query"]>[0], args: Record<string, unknown>, what: string) => wire.query<T>(ref, args, what);
  const m = <T>(ref: Parameters<ConvexWire["mutation"]>[0], args: Record<string, unknown>, what: string) => wire.mutation<T>(ref, args, what);

  return {
    kind: "convex",
    createSession: (input) => {
      const now = input.now ?? Date.now();
      return m<Session>(api.sessions.create, { ...input, now, sessionId: newId("ses", now) }, "sessions.create");
    },
    async getSession(sessionId) {
      const session = await q<Session | null>(api.sessions.get, { sessionId }, "sessions.get");
      if (!session) throw new NotFoundError(`No session '${sessionId}'`, { details: { sessionId } });
      return session;
    },
    findSession: (sessionId) => q(api.sessions.get, { sessionId }, "sessions.get"),
    findSessionBySandbox: (sandboxId) => q(api.sessions.bySandbox, { sandboxId }, "sessions.bySandbox"),
    listSessions: (filter = {}) => q(api.sessions.list, { ...filter }, "sessions.list"),
    listSessionsPage: (options = {}) =>
      q<SessionPage>(api.sessions.listPage, { cursor: options.cursor ?? null, limit: options.limit }, "sessions.listPage"),
    listIdleSessions: (now, limit) => q(api.sessions.listIdle, { now, limit }, "sessions.listIdle"),
    listPausedBefore: (before, limit) => q(api.sessions.listPausedBefore, { before, limit }, "sessions.listPausedBefore"),
    listUnsavedSessions: (now, globalIntervalMs, limit) =>
      q(api.sessions.listUnsaved, { now, globalIntervalMs, limit }, "sessions.listUnsaved"),
    getJobCursor: (name) => q<string | null>(api.sessions.jobCursor, { name }, "sessions.jobCursor"),
    setJobCursor: async (name, cursor, now) => {
      await m(api.sessions.setJobCursor, { name, cursor, now }, "sessions.setJobCursor");
    },
    recordActivity: (sessionId, input) =>
      m<ActivityResult>(api.sessions.recordActivity, { sessionId, ...input }, "sessions.recordActivity"),
    acquireLease: (sessionId, request) =>
      m<AcquireResult>(api.sessions.acquireLease, { sessionId, ...request }, "sessions.acquireLease"),
    renewLease: (sessionId, holder, ttlMs, now) =>
      m<Session>(api.sessions.renewLease, { sessionId, holder, ttlMs, now }, "sessions.renewLease"),
    releaseLease: async (sessionId, holder) => {
      await m(api.sessions.releaseLease, { sessionId, holder }, "sessions.releaseLease");
    },
    transition: (sessionId, event, opts = {}) =>
      m<Session>(api.sessions.transition, { sessionId, event, ...opts }, "sessions.transition"),
    updateSession: (sessionId, patch, opts = {}) =>
      m<Session>(api.sessions.update, { sessionId, patch, ...opts }, "sessions.update"),

    createCheckpoint: (input) => m<CheckpointRecord>(api.checkpoints.create, { ...input }, "checkpoints.create"),
    commitCheckpoint: (checkpointId, stats, now) =>
      m<CheckpointRecord>(api.checkpoints.commit, { checkpointId, ...stats, now }, "checkpoints.commit"),
    getCheckpoint: (checkpointId) => q(api.checkpoints.get, { checkpointId }, "checkpoints.get"),
    listCheckpoints: (sessionId, opts = {}) => q(api.checkpoints.list, { sessionId, ...opts }, "checkpoints.list"),
    sessionSummaries: async (sessions) => {
      // Convex caps an array argument at 8,192 values; 1,000 per call also bounds each query's reads.
      const out: SessionSummary[] = [];
      for (let i = 0; i < sessions.length; i += 1000) {
        const chunk = sessions.slice(i, i + 1000).map((s) => ({ id: s.id, latestCheckpointId: s.latestCheckpointId }));
        out.push(...(await q<SessionSummary[]>(api.stats.summaries, { sessions: chunk }, "stats.summaries")));
      }
      return out;
    },
    markCheckpointDeleted: async (checkpointId, now) => {
      await m(api.checkpoints.markDeleted, { checkpointId, now }, "checkpoints.markDeleted");
    },
    setCheckpointPinned: (checkpointId, pinned) =>
      m<CheckpointRecord>(api.checkpoints.setPinned, { checkpointId, pinned }, "checkpoints.setPinned"),

    recordChanges: (sessionId, changes) => {
      const now = Date.now();
      const rows = changes.map((c) => {
        const at = c.at ?? now;
        return { changeId: newId("chg", at), path: c.path, operation: c.operation, size: c.size ?? null, at };
      });
      return m<number>(api.changes.record, { sessionId, changes: rows }, "changes.record");
    },
    listPendingChanges: (sessionId, limit) => q<ChangeRecord[]>(api.changes.listPending, { sessionId, limit }, "changes.listPending"),
    async markChangesFlushed(sessionId, checkpointId, upTo, now = Date.now()) {
      let total = 0;
      for (;;) {
        const marked = await m<number>(api.changes.markFlushed, { sessionId, checkpointId, upTo, now }, "changes.markFlushed");
        total += marked;
        if (marked < FLUSH_BATCH) return total; // a full batch means there may be more
      }
    },

    createRun: (input) => {
      const now = input.now ?? Date.now();
      return m<RunRecord>(
        api.runs.create,
        {
          runId: input.id ?? newId("run", now),
          workflow: input.workflow,
          sessionId: input.sessionId,
          input: JSON.stringify(input.input ?? null),
          externalId: input.externalId ?? null,
          now,
        },
        "runs.create",
      );
    },
    getRun: (runId) => q(api.runs.get, { runId }, "runs.get"),
    listRuns: (filter = {}) => q(api.runs.list, { ...filter }, "runs.list"),
    recordStep: async (runId, step) => {
      await m(api.runs.recordStep, { runId, step: { ...step } }, "runs.recordStep");
    },
    finishRun: (runId, outcome) =>
      m<RunRecord>(
        api.runs.finish,
        {
          runId,
          status: outcome.status,
          result: outcome.result === undefined ? null : JSON.stringify(outcome.result),
          error: outcome.error ?? null,
          now: outcome.now,
        },
        "runs.finish",
      ),
    setRunStatus: async (runId, status, now) => {
      await m(api.runs.setStatus, { runId, status, now }, "runs.setStatus");
    },
    setRunProgress: async (runId, progress) => {
      // Only the validator's fields: Convex refuses an object with any other property.
      const value = progress && (({ step, phase, filesDone, filesTotal, bytesDone, bytesTotal, updatedAt }) =>
        ({ step, phase, filesDone, filesTotal, bytesDone, bytesTotal, updatedAt }))(progress);
      await m(api.runs.setProgress, { runId, progress: value }, "runs.setProgress");
    },

    pruneHistory: (request) => m<HistoryPruneResult>(api.history.prune, { ...request }, "history.prune"),

    async close() {
      // ConvexHttpClient holds no connection; nothing to release.
    },
  };
}
