/**
 * The SQLite file's schema and its migrations, versioned in code.
 *
 * `torpor_schema` holds one row per applied migration. Opening a file applies the missing
 * migrations inside one BEGIN IMMEDIATE transaction, so an app and a worker that open the same
 * file at once cannot both migrate it. A file whose version is newer than the code knows stops
 * start-up with SCHEMA_MISMATCH: an older binary must not write rows it does not understand.
 *
 * The tables say the same as convex/schema.ts: sessions (with idle_at = last activity + idle
 * timeout, indexed with state so that the idle sweep reads only idle rows), checkpoints, changes
 * (pending while checkpoint_id is null; flushed_at once a checkpoint took them), runs (with the running step's progress) and steps (the
 * embedded engine's journal). A migration is only ever appended: files in use hold the older ones.
 */
import type Database from "better-sqlite3";
import { TorporError } from "../core/errors";

const MIGRATIONS: readonly string[] = [
  // 1: the initial schema.
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    sandbox_id TEXT,
    template TEXT NOT NULL,
    state TEXT NOT NULL,
    last_activity_at INTEGER NOT NULL,
    last_activity_kind TEXT NOT NULL,
    idle_timeout_ms INTEGER NOT NULL,
    idle_at INTEGER NOT NULL,
    paused_at INTEGER,
    archived_at INTEGER,
    latest_checkpoint_id TEXT,
    lease_holder TEXT,
    lease_operation TEXT,
    lease_expires_at INTEGER,
    last_error TEXT,
    hooks TEXT NOT NULL,
    retention TEXT NOT NULL,
    sleep_reason TEXT,
    wake_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX sessions_by_owner ON sessions (owner_id, created_at);
  CREATE INDEX sessions_by_state_idle_at ON sessions (state, idle_at);
  CREATE INDEX sessions_by_state_paused_at ON sessions (state, paused_at);
  CREATE INDEX sessions_by_sandbox ON sessions (sandbox_id);

  CREATE TABLE checkpoints (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    parent_id TEXT,
    kind TEXT NOT NULL,
    label TEXT,
    status TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    files INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    uploaded_bytes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    committed_at INTEGER,
    deleted_at INTEGER
  );
  CREATE INDEX checkpoints_by_session ON checkpoints (session_id, created_at);

  CREATE TABLE changes (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    path TEXT NOT NULL,
    operation TEXT NOT NULL,
    size INTEGER,
    at INTEGER NOT NULL,
    checkpoint_id TEXT
  );
  CREATE INDEX changes_pending ON changes (session_id, at) WHERE checkpoint_id IS NULL;
  CREATE INDEX changes_by_checkpoint ON changes (checkpoint_id);

  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    session_id TEXT,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    result TEXT,
    error TEXT,
    external_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX runs_by_started ON runs (started_at);
  CREATE INDEX runs_by_session ON runs (session_id, started_at);
  CREATE INDEX runs_by_status ON runs (status, started_at);
  CREATE INDEX runs_by_workflow ON runs (workflow, started_at);

  CREATE TABLE steps (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    error TEXT,
    output TEXT,
    PRIMARY KEY (run_id, name)
  );
  `,
  // 2: the running step's progress (RunProgress as JSON; null when no step reports any).
  `
  ALTER TABLE runs ADD COLUMN progress TEXT;
  `,
  // 3: history pruning. A change row's flush time (rows flushed before this version take their
  // checkpoint's commit time, or their own time when the checkpoint row is gone), and the indexes
  // the prune scans: flushed changes and finished runs by age, runs by session and workflow.
  `
  ALTER TABLE changes ADD COLUMN flushed_at INTEGER;
  UPDATE changes SET flushed_at = COALESCE(
    (SELECT COALESCE(c.committed_at, c.created_at) FROM checkpoints c WHERE c.id = changes.checkpoint_id), at)
  WHERE checkpoint_id IS NOT NULL;
  CREATE INDEX changes_by_flushed ON changes (flushed_at, id) WHERE flushed_at IS NOT NULL;
  CREATE INDEX runs_by_ended ON runs (ended_at, id) WHERE ended_at IS NOT NULL;
  CREATE INDEX runs_by_session_workflow ON runs (session_id, workflow, started_at);
  `,
  // 4: per-session settings. Sessions made before keep today's behaviour: sandbox file changes
  // count as activity ("api+files"), and the deployment's flush interval applies (NULL).
  `
  ALTER TABLE sessions ADD COLUMN activity TEXT NOT NULL DEFAULT 'api+files';
  ALTER TABLE sessions ADD COLUMN flush_interval_ms INTEGER;
  `,
  // 5: fleet scale (issue 12). unsaved_since: the oldest pending change's time (NULL when none),
  // kept by recordChanges and markChangesFlushed, so that the flush step reads only the sessions
  // that are due, through two partial indexes: one for sessions on the deployment's interval
  // (flush_interval_ms NULL, due at unsaved_since + the global interval, a query parameter) and
  // one for sessions with their own (due at unsaved_since + flush_interval_ms, an expression
  // index); sessions with 0 (off) are in neither. The list indexes serve the dashboard's
  // newest-first order with and without a state filter. job_cursors: where a fleet-wide job
  // (retention) stopped, so that the next run continues there.
  `
  ALTER TABLE sessions ADD COLUMN unsaved_since INTEGER;
  UPDATE sessions SET unsaved_since =
    (SELECT MIN(at) FROM changes WHERE changes.session_id = sessions.id AND changes.checkpoint_id IS NULL);
  CREATE INDEX sessions_unsaved_global ON sessions (state, unsaved_since)
    WHERE flush_interval_ms IS NULL AND unsaved_since IS NOT NULL;
  CREATE INDEX sessions_unsaved_own ON sessions (state, unsaved_since + flush_interval_ms)
    WHERE flush_interval_ms > 0 AND unsaved_since IS NOT NULL;
  CREATE INDEX sessions_by_created ON sessions (created_at, id);
  CREATE INDEX sessions_by_state_created ON sessions (state, created_at, id);
  CREATE TABLE job_cursors (name TEXT PRIMARY KEY, cursor TEXT, updated_at INTEGER NOT NULL);
  `,
  // 6: the CPU figure of a "cpu" activity (issue 10): the load the idle sweep measured (cores,
  // REAL) and its window's length, so the dashboard can say how busy the sandbox was. Rows from
  // before read NULL (no figure: the awake reason names the check only).
  `
  ALTER TABLE sessions ADD COLUMN last_cpu_cores REAL;
  ALTER TABLE sessions ADD COLUMN last_cpu_window_ms INTEGER;
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function currentVersion(db: Database.Database): number {
  const row = db.prepare("SELECT MAX(version) AS version FROM torpor_schema").get() as { version: number | null };
  return row.version ?? 0;
}

/** Brings the file up to SCHEMA_VERSION, or refuses a file written by newer code. */
export function migrate(db: Database.Database, file: string, now: number = Date.now()): number {
  const run = db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS torpor_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
    const found = currentVersion(db);
    if (found > SCHEMA_VERSION) {
      throw new TorporError(
        "SCHEMA_MISMATCH",
        `State file '${file}' has schema version ${found}, newer than this Torpor knows (${SCHEMA_VERSION}): ` +
          "upgrade Torpor or point TORPOR_DATA_DIR at another folder",
        { details: { file, found, expected: SCHEMA_VERSION } },
      );
    }
    const insert = db.prepare("INSERT INTO torpor_schema (version, applied_at) VALUES (?, ?)");
    for (let version = found + 1; version <= SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version - 1]!);
      insert.run(version, now);
    }
    return SCHEMA_VERSION;
  });
  return run.immediate();
}
