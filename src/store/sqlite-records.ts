/**
 * Checkpoints, change rows and runs of the embedded SQLite store.
 *
 * A checkpoint row is created pending and committed once its manifest is durable; committing
 * also moves the session's latest-checkpoint pointer, in the same transaction, and never moves
 * it back to an older checkpoint. A change row is pending until a checkpoint flushes it. Runs
 * and their steps are the dashboard's view of workflows and the embedded engine's journal.
 */
import { ConflictError, NotFoundError } from "../core/errors";
import { newId } from "../core/ids";
import type { CheckpointRecord, Session } from "../core/types";
import type { SqliteDb } from "./sqlite-db";
import {
  changeFromRow,
  checkpointFromRow,
  runFromRow,
  stepFromRow,
  type ChangeRow,
  type CheckpointRow,
  type RunRow,
  type StepRow,
} from "./sqlite-rows";
import { summarise } from "./summary";
import type { StateStore } from "./types";

type Records = Pick<
  StateStore,
  | "createCheckpoint" | "commitCheckpoint" | "getCheckpoint" | "listCheckpoints" | "markCheckpointDeleted"
  | "setCheckpointPinned" | "recordChanges" | "listPendingChanges" | "markChangesFlushed" | "createRun"
  | "getRun" | "listRuns" | "recordStep" | "finishRun" | "setRunStatus"
  | "setRunProgress" | "sessionSummaries"
>;

const toJson = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

export function sqliteRecords(sql: SqliteDb, loadSession: (id: string) => Session): Records {
  const { db } = sql;
  const cpGet = db.prepare("SELECT * FROM checkpoints WHERE id = ?");
  const findCp = (id: string) => {
    const row = cpGet.get(id) as CheckpointRow | undefined;
    return row ? checkpointFromRow(row) : null;
  };
  const loadCp = (id: string) => {
    const cp = findCp(id);
    if (!cp) throw new NotFoundError(`No checkpoint '${id}'`, { details: { checkpointId: id } });
    return cp;
  };
  /** Points the session at its newest committed checkpoint (after a commit or a deletion). */
  const repointLatest = (sessionId: string, now: number) => {
    const newest = db
      .prepare(
        "SELECT id FROM checkpoints WHERE session_id = ? AND status = 'committed' ORDER BY created_at DESC, committed_at DESC LIMIT 1",
      )
      .get(sessionId) as { id: string } | undefined;
    db.prepare("UPDATE sessions SET latest_checkpoint_id = ?, updated_at = ? WHERE id = ?").run(
      newest?.id ?? null,
      now,
      sessionId,
    );
  };
  const steps = (runId: string) =>
    (db.prepare("SELECT * FROM steps WHERE run_id = ? ORDER BY position").all(runId) as StepRow[]).map(stepFromRow);
  const findRun = (id: string) => {
    const row = db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
    return row ? runFromRow(row, steps(id)) : null;
  };
  const loadRun = (id: string) => {
    const run = findRun(id);
    if (!run) throw new NotFoundError(`No run '${id}'`, { details: { runId: id } });
    return run;
  };

  return {
    async createCheckpoint(input) {
      const now = input.now ?? Date.now();
      return sql.write(() => {
        loadSession(input.sessionId);
        const existing = findCp(input.id);
        if (existing) {
          if (existing.sessionId !== input.sessionId) {
            throw new ConflictError("CONFLICT", `Checkpoint '${input.id}' belongs to another session`);
          }
          return existing; // a retried step
        }
        db.prepare(
          `INSERT INTO checkpoints (id, session_id, parent_id, kind, label, status, created_at)
           VALUES (?, ?, ?, ?, ?, 'pending', ?)`,
        ).run(input.id, input.sessionId, input.parentId, input.kind, input.label ?? null, now);
        return loadCp(input.id);
      });
    },
    async commitCheckpoint(id, stats, now = Date.now()) {
      return sql.write(() => {
        const cp = loadCp(id);
        if (cp.status === "committed") return cp;
        if (cp.status === "deleted") throw new ConflictError("CONFLICT", `Checkpoint '${id}' was deleted`);
        db.prepare(
          "UPDATE checkpoints SET status = 'committed', files = ?, bytes = ?, uploaded_bytes = ?, committed_at = ? WHERE id = ?",
        ).run(stats.files, stats.bytes, stats.uploadedBytes, now, id);
        repointLatest(cp.sessionId, now);
        return loadCp(id);
      });
    },
    async getCheckpoint(id) {
      return sql.read(() => findCp(id));
    },
    async listCheckpoints(sessionId, options = {}) {
      const filter = options.includeDeleted ? "" : "AND status != 'deleted'";
      const rows = sql.read(() =>
        db.prepare(`SELECT * FROM checkpoints WHERE session_id = ? ${filter} ORDER BY created_at DESC, rowid DESC`).all(sessionId),
      ) as CheckpointRow[];
      return rows.map(checkpointFromRow);
    },
    async sessionSummaries(sessions) {
      // One query for the whole list (chunked under SQLite's bound-parameter limit).
      const bySession = new Map<string, CheckpointRecord[]>();
      for (let i = 0; i < sessions.length; i += 500) {
        const ids = sessions.slice(i, i + 500).map((s) => s.id);
        const rows = sql.read(() =>
          db
            .prepare(`SELECT * FROM checkpoints WHERE status = 'committed' AND session_id IN (${ids.map(() => "?").join(", ")}) ORDER BY created_at DESC, rowid DESC`)
            .all(...ids),
        ) as CheckpointRow[];
        for (const row of rows) {
          const cp = checkpointFromRow(row);
          const list = bySession.get(cp.sessionId);
          if (list) list.push(cp);
          else bySession.set(cp.sessionId, [cp]);
        }
      }
      return sessions.map((s) => summarise(s, bySession.get(s.id) ?? []));
    },
    async markCheckpointDeleted(id, now = Date.now()) {
      sql.write(() => {
        const cp = loadCp(id);
        if (cp.status === "deleted") return;
        db.prepare("UPDATE checkpoints SET status = 'deleted', deleted_at = ? WHERE id = ?").run(now, id);
        if (loadSession(cp.sessionId).latestCheckpointId === id) repointLatest(cp.sessionId, now);
      });
    },
    async setCheckpointPinned(id, pinned) {
      return sql.write(() => {
        loadCp(id);
        db.prepare("UPDATE checkpoints SET pinned = ? WHERE id = ?").run(pinned ? 1 : 0, id);
        return loadCp(id);
      });
    },

    async recordChanges(sessionId, changes) {
      const now = Date.now();
      return sql.write(() => {
        loadSession(sessionId);
        const insert = db.prepare(
          "INSERT INTO changes (id, session_id, path, operation, size, at, checkpoint_id) VALUES (?, ?, ?, ?, ?, ?, NULL)",
        );
        let oldest = Infinity;
        for (const c of changes) {
          const at = c.at ?? now;
          insert.run(newId("chg", at), sessionId, c.path, c.operation, c.size ?? null, at);
          oldest = Math.min(oldest, at);
        }
        // The session row's oldest pending change, for the flush step's index (migration 5).
        if (changes.length > 0) {
          db.prepare("UPDATE sessions SET unsaved_since = MIN(COALESCE(unsaved_since, ?), ?) WHERE id = ?").run(oldest, oldest, sessionId);
        }
        return changes.length;
      });
    },
    async listPendingChanges(sessionId, limit = 10_000) {
      const rows = sql.read(() =>
        db
          .prepare("SELECT * FROM changes WHERE session_id = ? AND checkpoint_id IS NULL ORDER BY at, id LIMIT ?")
          .all(sessionId, limit),
      ) as ChangeRow[];
      return rows.map(changeFromRow);
    },
    async markChangesFlushed(sessionId, checkpointId, upTo, now = Date.now()) {
      return sql.write(() => {
        loadSession(sessionId);
        const marked = db
          .prepare("UPDATE changes SET checkpoint_id = ?, flushed_at = ? WHERE session_id = ? AND checkpoint_id IS NULL AND at <= ?")
          .run(checkpointId, now, sessionId, upTo).changes;
        // The oldest change still pending (one row of the changes_pending index), or NULL.
        db.prepare(
          "UPDATE sessions SET unsaved_since = (SELECT MIN(at) FROM changes WHERE session_id = ? AND checkpoint_id IS NULL) WHERE id = ?",
        ).run(sessionId, sessionId);
        return marked;
      });
    },

    async createRun(input) {
      const now = input.now ?? Date.now();
      const id = input.id ?? newId("run", now);
      return sql.write(() => {
        const existing = findRun(id);
        if (existing) return existing; // the engine re-creating a run it already journaled
        db.prepare(
          `INSERT INTO runs (id, workflow, session_id, status, input, external_id, started_at, updated_at)
           VALUES (?, ?, ?, 'running', ?, ?, ?, ?)`,
        ).run(id, input.workflow, input.sessionId, JSON.stringify(input.input ?? null), input.externalId ?? null, now, now);
        return loadRun(id);
      });
    },
    async getRun(id) {
      return sql.read(() => findRun(id));
    },
    async listRuns(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.sessionId !== undefined) (where.push("session_id = ?"), params.push(filter.sessionId));
      if (filter.status !== undefined) (where.push("status = ?"), params.push(filter.status));
      if (filter.workflow !== undefined) (where.push("workflow = ?"), params.push(filter.workflow));
      if (filter.startedAfter !== undefined) (where.push("started_at >= ?"), params.push(filter.startedAfter));
      if (filter.startedBefore !== undefined) (where.push("started_at < ?"), params.push(filter.startedBefore));
      const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
      return sql.read(() => {
        const rows = db
          .prepare(`SELECT * FROM runs ${clause} ORDER BY started_at DESC, id DESC LIMIT ?`)
          .all(...params, filter.limit ?? 100) as RunRow[];
        return rows.map((row) => runFromRow(row, filter.steps === false ? [] : steps(row.id)));
      });
    },
    async recordStep(runId, step) {
      sql.write(() => {
        loadRun(runId);
        db.prepare(
          `INSERT INTO steps (run_id, name, position, status, attempts, started_at, ended_at, error, output)
           VALUES (@runId, @name, (SELECT COUNT(*) FROM steps WHERE run_id = @runId), @status, @attempts, @startedAt, @endedAt, @error, @output)
           ON CONFLICT(run_id, name) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
             started_at = excluded.started_at, ended_at = excluded.ended_at, error = excluded.error, output = excluded.output`,
        ).run({ runId, ...step });
        db.prepare("UPDATE runs SET updated_at = ? WHERE id = ?").run(Date.now(), runId);
      });
    },
    async finishRun(id, outcome) {
      const now = outcome.now ?? Date.now();
      return sql.write(() => {
        loadRun(id);
        db.prepare("UPDATE runs SET status = ?, result = ?, error = ?, ended_at = ?, updated_at = ? WHERE id = ?").run(
          outcome.status,
          toJson(outcome.result),
          outcome.error ?? null,
          now,
          now,
          id,
        );
        return loadRun(id);
      });
    },
    async setRunStatus(id, status, now = Date.now()) {
      sql.write(() => {
        loadRun(id);
        db.prepare("UPDATE runs SET status = ?, updated_at = ? WHERE id = ?").run(status, now, id);
      });
    },
    async setRunProgress(id, progress) {
      sql.write(() => {
        const changed = db.prepare("UPDATE runs SET progress = ? WHERE id = ?").run(progress === null ? null : JSON.stringify(progress), id).changes;
        if (changed === 0) throw new NotFoundError(`No run '${id}'`, { details: { runId: id } });
      });
    },
  };
}
