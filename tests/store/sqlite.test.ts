/**
 * The StateStore contract on the embedded SQLite adapter, each test on a fresh file in a temp dir,
 * plus the query plans that keep the hot queries on their indexes, and the upgrade of an older file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteStore, SWEEP_QUERIES } from "../../src/store/sqlite";
import { storeContract } from "./contract";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-store-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract("sqlite", () => openSqliteStore({ file: path.join(dir, `nested/${n++}/torpor.sqlite`) }));

describe("sqlite query plans", () => {
  const plan = (db: Database.Database, sql: string) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(sql.includes("?") ? [5, 10] : [])) as { detail: string }[]).map((r) => r.detail).join("; ");

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
});

describe("sqlite migrations", () => {
  it("upgrades a version-1 file: its runs stay readable, with no progress, and take progress after", async () => {
    const file = path.join(dir, "v1", "torpor.sqlite");
    const store = openSqliteStore({ file });
    const run = await store.createRun({ id: "run_old", workflow: "hibernate-session", sessionId: null, input: null });
    await store.close();
    // Turn the file back into what version 1 wrote: no progress column, one migration recorded.
    const db = new Database(file);
    db.exec("ALTER TABLE runs DROP COLUMN progress; DELETE FROM torpor_schema WHERE version > 1");
    db.close();

    const upgraded = openSqliteStore({ file });
    expect(await upgraded.getRun(run.id)).toMatchObject({ id: run.id, progress: null });
    const progress = { step: "s", phase: "scan", filesDone: 0, filesTotal: 3, bytesDone: 0, bytesTotal: 9, updatedAt: 1 };
    await upgraded.setRunProgress(run.id, progress);
    expect((await upgraded.getRun(run.id))?.progress).toEqual(progress);
    await upgraded.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT MAX(version) AS v FROM torpor_schema").get()).toEqual({ v: 2 });
    check.close();
  });
});
