/**
 * The fleet benchmark's state file: sessions in bulk transactions (through a second connection,
 * with the store's own row mapping), one committed checkpoint row each, pending changes and runs.
 */
import Database from "better-sqlite3";
import { newId } from "../../src/core/ids.ts";
import { newSessionRecord } from "../../src/store/rules.ts";
import { listSessionsSql, SWEEP_QUERIES } from "../../src/store/sqlite.ts";
import { SESSION_COLUMNS, sessionToRow } from "../../src/store/sqlite-rows.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Fills the state file: sessions, one committed checkpoint each, pending changes, completed runs. */
export function seed(file, now, SESSIONS, OWNERS) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  const insertSession = db.prepare(`INSERT INTO sessions (${SESSION_COLUMNS.join(", ")}) VALUES (${SESSION_COLUMNS.map((c) => `@${c}`).join(", ")})`);
  const insertCp = db.prepare(
    `INSERT INTO checkpoints (id, session_id, parent_id, kind, status, files, bytes, uploaded_bytes, created_at, committed_at) VALUES (?, ?, NULL, 'hibernate', 'committed', 300, 1000000, 1000, ?, ?)`,
  );
  const insertChange = db.prepare("INSERT INTO changes (id, session_id, path, operation, size, at) VALUES (?, ?, ?, 'modified', 10, ?)");
  // What recordChanges keeps on the row: its oldest pending change (migration 5).
  const setUnsaved = db.prepare("UPDATE sessions SET unsaved_since = ? WHERE id = ?");
  const insertRun = db.prepare(
    "INSERT INTO runs (id, workflow, session_id, status, input, result, started_at, ended_at, updated_at) VALUES (?, ?, ?, 'completed', 'null', 'null', ?, ?, ?)",
  );
  const stats = { running: 0, idle: 0, paused: 0, pausedPastArchive: 0, archived: 0, unsaved: 0 };
  const ids = [];
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const created = now - 30 * DAY + Math.floor((i * 29 * DAY) / SESSIONS);
      const id = newId("ses", created);
      ids.push(id);
      const s = newSessionRecord(id, { ownerId: `owner-${i % OWNERS}`, provider: "local", template: "base", idleTimeoutMs: 10 * MINUTE, sandboxId: `sbx-${i}` }, created);
      const cp = newId("cp", created + MINUTE);
      let unsavedSince = null;
      s.latestCheckpointId = cp;
      if (i % 10 === 0) {
        stats.running++;
        const idle = i % 1000 === 0;
        s.lastActivityAt = idle ? now - 20 * MINUTE : now - MINUTE;
        s.lastActivityKind = "ping";
        if (idle) stats.idle++;
        // Some active sessions have file changes unsaved for longer than the flush interval.
        if (!idle && i % 2000 === 10) {
          stats.unsaved++;
          unsavedSince = now - 10 * MINUTE;
          insertChange.run(newId("chg", unsavedSince), id, "src/index.ts", unsavedSince);
        }
      } else if (i % 10 < 7) {
        stats.paused++;
        s.state = "paused";
        s.sandboxId = `sbx-${i}`;
        const past = i % 1000 === 1;
        if (past) stats.pausedPastArchive++;
        s.pausedAt = past ? now - 8 * DAY : now - HOUR;
        s.lastActivityAt = s.pausedAt - 10 * MINUTE;
      } else {
        stats.archived++;
        s.state = "archived";
        s.sandboxId = null;
        s.pausedAt = now - 10 * DAY;
        s.archivedAt = now - 3 * DAY;
        s.lastActivityAt = s.pausedAt - 10 * MINUTE;
      }
      s.updatedAt = now - MINUTE;
      insertSession.run(sessionToRow(s));
      if (unsavedSince !== null) setUnsaved.run(unsavedSince, id);
      insertCp.run(cp, id, created + MINUTE, created + MINUTE);
    }
  });
  for (let i = 0; i < SESSIONS; i += 10_000) batch(i, Math.min(SESSIONS, i + 10_000));
  const runs = db.transaction(() => {
    for (let r = 0; r < 5000; r++) {
      const started = now - DAY + r * 10_000;
      insertRun.run(newId("run", started), r % 2 ? "hibernate" : "resume", ids[(r * 7919) % ids.length], started, started + 3000, started + 3000);
    }
  });
  runs();
  // The sweep's queries, and the SQL listSessions builds (src/store/sqlite.ts) for the dashboard's
  // lists: all sessions, one state, one owner.
  const queries = {
    ...SWEEP_QUERIES,
    listAll: listSessionsSql({}),
    listRunning: listSessionsSql({ state: "running" }),
    listOwner: listSessionsSql({ ownerId: "o" }),
  };
  const plans = Object.fromEntries(
    Object.entries(queries).map(([name, sql]) => {
      const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 1);
      return [name, db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params).map((p) => p.detail).join("; ")];
    }),
  );
  db.close();
  return { stats, plans };
}
