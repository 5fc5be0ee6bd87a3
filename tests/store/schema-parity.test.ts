/**
 * convex/schema.ts and the SQLite migrations must describe the same data: for every table, the
 * Convex fields (camelCase, Torpor's id in `<table>Id`, the lease as one object) map one to one
 * onto the SQLite columns (snake_case, `id`, the lease as three columns).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { changeFields, checkpointFields, runFields, sessionFields, stepFields } from "../../convex/validators";
import { openSqliteStore } from "../../src/store/sqlite";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-parity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Convex's own index fields for the flush step; SQLite indexes expressions of unsaved_since instead.
const CONVEX_INDEX_ONLY = new Set(["unsavedGlobalAt", "flushDueAt"]);

function convexColumns(fields: Record<string, unknown>, idField: string | null): string[] {
  return Object.keys(fields)
    .filter((f) => !CONVEX_INDEX_ONLY.has(f))
    .flatMap((f) => (f === "lease" ? ["leaseHolder", "leaseOperation", "leaseExpiresAt"] : [f === idField ? "id" : f]))
    .map(snake)
    .sort();
}

describe("Convex schema and SQLite schema say the same", () => {
  const file = path.join(dir, "torpor.sqlite");
  const columns = async (table: string) => {
    await openSqliteStore({ file }).close();
    const db = new Database(file, { readonly: true });
    const names = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name).sort();
    db.close();
    return names;
  };

  it.each([
    ["sessions", sessionFields, "sessionId"],
    ["checkpoints", checkpointFields, "checkpointId"],
    ["changes", changeFields, "changeId"],
    ["runs", runFields, "runId"],
    ["steps", stepFields, null],
  ] as const)("%s", async (table, fields, idField) => {
    const sqlite = await columns(table);
    expect(sqlite.length).toBeGreaterThan(5);
    expect(convexColumns(fields, idField)).toEqual(sqlite);
  });
});
