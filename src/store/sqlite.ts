/**
 * The embedded StateStore: an SQLite file (better-sqlite3) under the data dir.
 *
 * Sessions, leases and activity live here; checkpoints, change rows and runs in sqlite-records.ts;
 * history pruning in sqlite-history.ts.
 * Each state change loads the row, applies a rule from ./rules (which applies src/core/lifecycle)
 * and writes it back, all inside one BEGIN IMMEDIATE transaction. A coalesced activity ping is a
 * plain read: it takes the write lock only when the rules say the row must change.
 */
import { NotFoundError } from "../core/errors";
import { newId } from "../core/ids";
import type { Session } from "../core/types";
import {
  applyAcquire,
  applyActivity,
  applyRelease,
  applyRenew,
  applyTransition,
  applyUpdate,
  newSessionRecord,
} from "./rules";
import { openSqliteDb } from "./sqlite-db";
import { sqlitePruneHistory } from "./sqlite-history";
import { sqliteRecords } from "./sqlite-records";
import { SESSION_COLUMNS, sessionFromRow, sessionToRow, type SessionRow } from "./sqlite-rows";
import type { AcquireResult, StateStore } from "./types";

const DEFAULT_LIST_LIMIT = 1000;

/** The sweep's queries; tests check that SQLite answers them from the (state, …) indexes. */
export const SWEEP_QUERIES = {
  idle: "SELECT * FROM sessions WHERE state = 'running' AND idle_at <= ? ORDER BY idle_at LIMIT ?",
  pausedBefore: "SELECT * FROM sessions WHERE state = 'paused' AND paused_at <= ? ORDER BY paused_at LIMIT ?",
  // The flush step's two queries, each one range of a partial index (sqlite-schema.ts, migration 5).
  unsavedGlobal:
    "SELECT * FROM sessions WHERE state = 'running' AND flush_interval_ms IS NULL AND unsaved_since IS NOT NULL AND unsaved_since <= ? ORDER BY unsaved_since LIMIT ?",
  unsavedOwn:
    "SELECT * FROM sessions WHERE state = 'running' AND flush_interval_ms > 0 AND unsaved_since IS NOT NULL AND unsaved_since + flush_interval_ms <= ? ORDER BY unsaved_since + flush_interval_ms LIMIT ?",
} as const;

/** listSessions' SQL for a filter; tests check each plan SEARCHes an index and needs no temp B-tree. */
export function listSessionsSql(filter: { ownerId?: string; state?: string }): string {
  const where: string[] = [];
  if (filter.ownerId !== undefined) where.push("owner_id = ?");
  if (filter.state !== undefined) where.push("state = ?");
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  // Owner and state together: the owner's index (a user has few sessions), the state filtered.
  const index = filter.ownerId !== undefined ? "INDEXED BY sessions_by_owner" : filter.state !== undefined ? "INDEXED BY sessions_by_state_created" : "INDEXED BY sessions_by_created";
  return `SELECT * FROM sessions ${index} ${clause} ORDER BY created_at DESC, id DESC LIMIT ?`;
}

export function openSqliteStore(options: { file: string }): StateStore {
  const sql = openSqliteDb(options.file);
  const { db } = sql;
  const selectSession = db.prepare("SELECT * FROM sessions WHERE id = ?");
  const upsertSession = db.prepare(
    `INSERT INTO sessions (${SESSION_COLUMNS.join(", ")}) VALUES (${SESSION_COLUMNS.map((c) => `@${c}`).join(", ")})
     ON CONFLICT(id) DO UPDATE SET ${SESSION_COLUMNS.filter((c) => c !== "id").map((c) => `${c} = excluded.${c}`).join(", ")}`,
  );
  const selectBySandbox = db.prepare(
    "SELECT * FROM sessions WHERE sandbox_id = ? ORDER BY state = 'deleted', created_at DESC LIMIT 1",
  );
  const selectIdle = db.prepare(SWEEP_QUERIES.idle);
  const selectPage = db.prepare("SELECT * FROM sessions WHERE id > ? ORDER BY id LIMIT ?");
  const selectPausedBefore = db.prepare(SWEEP_QUERIES.pausedBefore);
  const selectUnsavedGlobal = db.prepare(SWEEP_QUERIES.unsavedGlobal);
  const selectUnsavedOwn = db.prepare(SWEEP_QUERIES.unsavedOwn);
  const selectJobCursor = db.prepare("SELECT cursor FROM job_cursors WHERE name = ?");
  const upsertJobCursor = db.prepare(
    "INSERT INTO job_cursors (name, cursor, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
  );

  const find = (id: string): Session | null => {
    const row = selectSession.get(id) as SessionRow | undefined;
    return row ? sessionFromRow(row) : null;
  };
  const load = (id: string): Session => {
    const session = find(id);
    if (!session) throw new NotFoundError(`No session '${id}'`, { details: { sessionId: id } });
    return session;
  };
  const save = (session: Session): Session => {
    upsertSession.run(sessionToRow(session));
    return session;
  };
  /** Read, decide and write one session row in one transaction. */
  const mutate = <T>(id: string, fn: (session: Session) => T): T => sql.write(() => fn(load(id)));
  const many = (rows: unknown[]): Session[] => (rows as SessionRow[]).map(sessionFromRow);

  const store: StateStore = {
    kind: "sqlite",
    async createSession(input) {
      const now = input.now ?? Date.now();
      const session = newSessionRecord(newId("ses", now), input, now);
      return sql.write(() => save(session));
    },
    async getSession(id) {
      return sql.read(() => load(id));
    },
    async findSession(id) {
      return sql.read(() => find(id));
    },
    async findSessionBySandbox(sandboxId) {
      const row = sql.read(() => selectBySandbox.get(sandboxId)) as SessionRow | undefined;
      return row ? sessionFromRow(row) : null;
    },
    async listSessions(filter = {}) {
      const params: unknown[] = [];
      if (filter.ownerId !== undefined) params.push(filter.ownerId);
      if (filter.state !== undefined) params.push(filter.state);
      const rows = sql.read(() => db.prepare(listSessionsSql(filter)).all(...params, filter.limit ?? DEFAULT_LIST_LIMIT));
      return many(rows);
    },
    async listSessionsPage(options = {}) {
      // Keyset on the primary key: each page is one index range, however many sessions precede it.
      const limit = Math.max(1, options.limit ?? DEFAULT_LIST_LIMIT);
      const rows = sql.read(() => selectPage.all(options.cursor ?? "", limit)) as SessionRow[];
      const sessions = many(rows);
      return { sessions, cursor: rows.length < limit ? null : rows[rows.length - 1]!.id };
    },
    async listIdleSessions(now, limit = DEFAULT_LIST_LIMIT) {
      return many(sql.read(() => selectIdle.all(now, limit)));
    },
    async listPausedBefore(before, limit = DEFAULT_LIST_LIMIT) {
      return many(sql.read(() => selectPausedBefore.all(before, limit)));
    },
    async listUnsavedSessions(now, globalIntervalMs, limit = DEFAULT_LIST_LIMIT) {
      const rows = sql.read(() => [
        ...(globalIntervalMs > 0 ? (selectUnsavedGlobal.all(now - globalIntervalMs, limit) as SessionRow[]) : []),
        ...(selectUnsavedOwn.all(now, limit) as SessionRow[]),
      ]) as (SessionRow & { unsaved_since: number })[];
      return rows.slice(0, limit).map((row) => ({ session: sessionFromRow(row), unsavedSince: row.unsaved_since }));
    },
    async getJobCursor(name) {
      const row = sql.read(() => selectJobCursor.get(name)) as { cursor: string | null } | undefined;
      return row?.cursor ?? null;
    },
    async setJobCursor(name, cursor, now = Date.now()) {
      sql.write(() => upsertJobCursor.run(name, cursor, now));
    },

    async recordActivity(id, input) {
      // Optimistic read first: most pings are coalesced and must not take the write lock.
      const first = applyActivity(sql.read(() => load(id)), input);
      if (first.write === null) return { session: first.session, written: false, wake: first.wake };
      return mutate(id, (session) => {
        const outcome = applyActivity(session, input);
        if (outcome.write !== null) save(outcome.write);
        return { session: outcome.session, written: outcome.write !== null, wake: outcome.wake };
      });
    },

    async acquireLease(id, request): Promise<AcquireResult> {
      const now = request.now ?? Date.now();
      return mutate(id, (session) => {
        const outcome = applyAcquire(session, { ...request, now });
        if (outcome.ok) save(outcome.session);
        return outcome;
      });
    },
    async renewLease(id, holder, ttlMs, now = Date.now()) {
      return mutate(id, (session) => save(applyRenew(session, holder, ttlMs, now)));
    },
    async releaseLease(id, holder) {
      mutate(id, (session) => {
        const next = applyRelease(session, holder, Date.now());
        if (next) save(next);
      });
    },
    async transition(id, event, options = {}) {
      const now = options.now ?? Date.now();
      return mutate(id, (session) => save(applyTransition(session, event, { ...options, now })));
    },
    async updateSession(id, patch, options = {}) {
      const now = options.now ?? Date.now();
      return mutate(id, (session) => save(applyUpdate(session, patch, { holder: options.holder, now })));
    },

    ...sqliteRecords(sql, load),
    pruneHistory: sqlitePruneHistory(sql, find),

    async close() {
      if (db.open) db.close();
    },
  };
  return store;
}
