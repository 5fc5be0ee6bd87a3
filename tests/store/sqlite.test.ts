/**
 * The StateStore contract on the embedded SQLite adapter, each test on a fresh file in a temp dir,
 * plus the query plans that keep the hot queries on their indexes, and the upgrade of an older file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { listSessionsSql, openSqliteStore, SWEEP_QUERIES } from "../../src/store/sqlite";
import { HISTORY_QUERIES } from "../../src/store/sqlite-history";
import { SCHEMA_VERSION } from "../../src/store/sqlite-schema";
import { storeContract } from "./contract";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-store-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract("sqlite", () => openSqliteStore({ file: path.join(dir, `nested/${n++}/torpor.sqlite`) }));

describe("sqlite query plans", () => {
  const plan = (db: Database.Database, sql: string) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(sql.includes("?") ? [5, 10] : [])) as { detail: string }[]).map((r) => r.detail).join("; ");

  it("scans prunable history through its indexes", async () => {
    const file = path.join(dir, "history-plans", "torpor.sqlite");
    await openSqliteStore({ file }).close();
    const db = new Database(file, { readonly: true });
    const named = (sql: string) => sql.replace(/@\w+/g, "?");
    expect(plan(db, named(HISTORY_QUERIES.changes).replace("LIMIT ?", "LIMIT 10").replace(/\?/g, "1"))).toContain("USING INDEX changes_by_flushed");
    expect(plan(db, named(HISTORY_QUERIES.runs).replace(/\?/g, "1"))).toContain("USING INDEX runs_by_ended");
    expect(plan(db, HISTORY_QUERIES.newestOfKind.replace("IS ?", "IS 'x'").replace("= ?", "= 'y'"))).toContain(
      "USING INDEX runs_by_session_workflow",
    );
    db.close();
  });

  it("reads idle sessions, paused sessions and pending changes through their indexes", async () => {
    const file = path.join(dir, "plans", "torpor.sqlite");
    await openSqliteStore({ file }).close();
    const db = new Database(file, { readonly: true });
    expect(plan(db, SWEEP_QUERIES.idle)).toContain(
      "USING INDEX sessions_by_state_idle_at (state=? AND idle_at<?)",
    );
    expect(plan(db, SWEEP_QUERIES.pausedBefore)).toContain(
      "USING INDEX sessions_by_state_paused_at",
    );
    expect(
      plan(db, "SELECT * FROM changes WHERE session_id = 'x' AND checkpoint_id IS NULL ORDER BY at, id LIMIT 10"),
    ).toContain("USING INDEX changes_pending");
    db.close();
  });

  it("reads due flushes and the dashboard's newest-first lists through indexes, with no sort", async () => {
    const file = path.join(dir, "fleet-plans", "torpor.sqlite");
    await openSqliteStore({ file }).close();
    const db = new Database(file, { readonly: true });
    expect(plan(db, SWEEP_QUERIES.unsavedGlobal)).toMatch(/^SEARCH sessions USING INDEX sessions_unsaved_global \(state=\?.* AND unsaved_since<\?\)$/);
    expect(plan(db, SWEEP_QUERIES.unsavedOwn)).toMatch(/^SEARCH sessions USING INDEX sessions_unsaved_own \(state=\?.*<\?\)$/);
    for (const [filter, index] of [[{}, "sessions_by_created"], [{ state: "running" }, "sessions_by_state_created"]] as const) {
      const p = plan(db, listSessionsSql(filter).replace(/\?/g, "'x'").replace("LIMIT 'x'", "LIMIT 10"));
      expect(p).toContain(`USING INDEX ${index}`);
      expect(p).not.toContain("TEMP B-TREE");
    }
    db.close();
  });
});

describe("sqlite migrations", () => {
  it("upgrades a version-1 file: its runs stay readable, with no progress, and take progress after", async () => {
    const file = path.join(dir, "v1", "torpor.sqlite");
    const store = openSqliteStore({ file });
    const run = await store.createRun({ id: "run_old", workflow: "hibernate-session", sessionId: null, input: null });
    await store.close();
    // Turn the file back into what version 1 wrote: no progress column, one migration recorded.
    const db = new Database(file);
    db.exec(`${TO_VERSION_2} ALTER TABLE runs DROP COLUMN progress; DELETE FROM torpor_schema WHERE version > 1`);
    db.close();

    const upgraded = openSqliteStore({ file });
    expect(await upgraded.getRun(run.id)).toMatchObject({ id: run.id, progress: null });
    const progress = { step: "s", phase: "scan", filesDone: 0, filesTotal: 3, bytesDone: 0, bytesTotal: 9, updatedAt: 1 };
    await upgraded.setRunProgress(run.id, progress);
    expect((await upgraded.getRun(run.id))?.progress).toEqual(progress);
    await upgraded.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT MAX(version) AS v FROM torpor_schema").get()).toEqual({ v: SCHEMA_VERSION });
    check.close();
  });

  it("upgrades a version-2 file: flushed changes take their checkpoint's commit time (or their own), pending stay pending", async () => {
    const file = path.join(dir, "v2", "torpor.sqlite");
    const store = openSqliteStore({ file });
    const s = await store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x", now: 1000 });
    await store.createCheckpoint({ id: "cp_a", sessionId: s.id, parentId: null, kind: "hibernate", now: 2000 });
    await store.commitCheckpoint("cp_a", { files: 1, bytes: 1, uploadedBytes: 1 }, 3000);
    await store.recordChanges(s.id, [{ path: "kept-by-cp", operation: "write", at: 1500 }]);
    await store.markChangesFlushed(s.id, "cp_a", 1500, 9999);
    await store.recordChanges(s.id, [{ path: "cp-gone", operation: "write", at: 1600 }]);
    await store.markChangesFlushed(s.id, "cp_gone", 1600, 9999);
    await store.recordChanges(s.id, [{ path: "pending", operation: "write", at: 1700 }]);
    await store.close();
    const db = new Database(file);
    db.exec(`${TO_VERSION_2} DELETE FROM torpor_schema WHERE version > 2`);
    db.close();

    const upgraded = openSqliteStore({ file });
    const check = new Database(file, { readonly: true });
    const flushedAt = Object.fromEntries(
      (check.prepare("SELECT path, flushed_at FROM changes").all() as { path: string; flushed_at: number | null }[]).map((r) => [r.path, r.flushed_at]),
    );
    expect(flushedAt).toEqual({ "kept-by-cp": 3000, "cp-gone": 1600, pending: null });
    expect(check.prepare("SELECT MAX(version) AS v FROM torpor_schema").get()).toEqual({ v: SCHEMA_VERSION });
    check.close();
    const pruned = await upgraded.pruneHistory({ changesFlushedBefore: 2000, runsEndedBefore: 0, now: 5000 });
    expect(pruned.changes).toBe(1); // cp-gone, by its own time
    expect((await upgraded.listPendingChanges(s.id)).map((c) => c.path)).toEqual(["pending"]);
    await upgraded.close();
  });

  it("upgrades a version-3 file: its sessions take the default settings (api+files, the deployment's flush interval)", async () => {
    const file = path.join(dir, "v3", "torpor.sqlite");
    const store = openSqliteStore({ file });
    const s = await store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x", now: 1000 });
    await store.close();
    const db = new Database(file);
    db.exec(`${TO_VERSION_3} DELETE FROM torpor_schema WHERE version > 3`);
    db.close();

    const upgraded = openSqliteStore({ file });
    expect(await upgraded.getSession(s.id)).toMatchObject({ id: s.id, activity: "api+files", flushIntervalMs: null, idleTimeoutMs: 1000 });
    await upgraded.updateSession(s.id, { activity: "api", flushIntervalMs: 60_000 }, { now: 2000 });
    expect(await upgraded.getSession(s.id)).toMatchObject({ activity: "api", flushIntervalMs: 60_000 });
    await upgraded.close();
  });

  it("upgrades a version-4 file: each session's oldest pending change is found, so the flush step sees it", async () => {
    const file = path.join(dir, "v4", "torpor.sqlite");
    const store = openSqliteStore({ file });
    const make = (sandboxId: string) => store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId, now: 1000 });
    const [pending, flushed, clean] = [await make("a"), await make("b"), await make("c")];
    await store.recordChanges(pending.id, [{ path: "x", operation: "write", at: 5000 }, { path: "y", operation: "write", at: 3000 }]);
    await store.recordChanges(flushed.id, [{ path: "x", operation: "write", at: 2000 }]);
    await store.markChangesFlushed(flushed.id, "cp", 2000, 2500);
    await store.close();
    const db = new Database(file);
    db.exec(`${TO_VERSION_4} DELETE FROM torpor_schema WHERE version > 4`);
    expect(db.prepare("SELECT name FROM pragma_table_info('sessions') WHERE name = 'unsaved_since'").all()).toEqual([]);
    db.close();

    const upgraded = openSqliteStore({ file });
    const due = await upgraded.listUnsavedSessions(10_000, 1000);
    expect(due).toEqual([{ session: expect.objectContaining({ id: pending.id }), unsavedSince: 3000 }]);
    expect((await upgraded.listUnsavedSessions(3500, 1000)).map((d) => d.session.id)).toEqual([]);
    expect(await upgraded.getJobCursor("retention")).toBeNull();
    void clean;
    await upgraded.close();
  });

  it("upgrades a version-5 file: its sessions have no CPU figure, and a later cpu activity stores one", async () => {
    const file = path.join(dir, "v5", "torpor.sqlite");
    const store = openSqliteStore({ file });
    const s = await store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x", now: 1000 });
    await store.recordActivity(s.id, { at: 2000, kind: "cpu", coalesceMs: 0 });
    await store.close();
    const db = new Database(file);
    db.exec(`${TO_VERSION_5} DELETE FROM torpor_schema WHERE version > 5`);
    db.close();

    const upgraded = openSqliteStore({ file });
    expect(await upgraded.getSession(s.id)).toMatchObject({ lastActivityKind: "cpu", lastCpuCores: null, lastCpuWindowMs: null });
    await upgraded.recordActivity(s.id, { at: 3000, kind: "cpu", coalesceMs: 0, cpuCores: 0.62, cpuWindowMs: 60_000 });
    expect(await upgraded.getSession(s.id)).toMatchObject({ lastCpuCores: 0.62, lastCpuWindowMs: 60_000 });
    await upgraded.close();
  });
});

/** Undoes migration 6 (the CPU figure of a "cpu" activity). */
const TO_VERSION_5 = "ALTER TABLE sessions DROP COLUMN last_cpu_cores; ALTER TABLE sessions DROP COLUMN last_cpu_window_ms;";

/** Undoes migrations 6 and 5 (fleet scale: unsaved_since, list indexes, job cursors). */
const TO_VERSION_4 =
  TO_VERSION_5 + " DROP INDEX sessions_unsaved_global; DROP INDEX sessions_unsaved_own; DROP INDEX sessions_by_created; DROP INDEX sessions_by_state_created; DROP TABLE job_cursors; ALTER TABLE sessions DROP COLUMN unsaved_since;";

/** Undoes migrations 5 and 4 (per-session settings) on a file, for the upgrade tests. */
const TO_VERSION_3 = TO_VERSION_4 + " ALTER TABLE sessions DROP COLUMN activity; ALTER TABLE sessions DROP COLUMN flush_interval_ms;";

/** Undoes migrations 4 and 3 (history pruning) on a file, for the upgrade tests. */
const TO_VERSION_2 =
  `${TO_VERSION_3} DROP INDEX changes_by_flushed; DROP INDEX runs_by_ended; DROP INDEX runs_by_session_workflow; ALTER TABLE changes DROP COLUMN flushed_at;`;
