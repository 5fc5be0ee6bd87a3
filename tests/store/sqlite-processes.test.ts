/**
 * The SQLite file shared by two processes at once (the app and a worker), and the schema
 * version check that stops start-up on a file written by newer code.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import { openSqliteStore } from "../../src/store/sqlite";
import { SCHEMA_VERSION } from "../../src/store/sqlite-schema";
import { runHammer, type HammerCounts } from "./fixtures/hammer";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-procs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hammer = path.join(import.meta.dirname, "fixtures", "hammer.ts");

/** Starts the child; `ready` resolves once it has opened the file, `done` with its counts. */
function runChild(args: string[]): { ready: Promise<void>; done: Promise<HammerCounts> } {
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<HammerCounts>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", hammer, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.startsWith("ready\n")) onReady();
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out.slice("ready\n".length)) as HammerCounts) : reject(new Error(`child exited ${code}: ${err}`))));
  });
  done.catch(() => onReady());
  return { ready, done };
}

describe("sqlite store shared by two processes", () => {
  it("keeps the lease exclusive and loses no insert while both write", async () => {
    const file = path.join(dir, "shared", "torpor.sqlite");
    const setup = openSqliteStore({ file });
    const shared = await setup.createSession({ ownerId: "o", provider: "local", template: "base", idleTimeoutMs: 1000, sandboxId: "shared" });
    await setup.close();

    const rounds = 400;
    const child = runChild([file, shared.id, "child", String(rounds)]);
    const store = openSqliteStore({ file });
    await child.ready;
    const mine = await runHammer(store, shared.id, "parent", rounds);
    const theirs = await child.done;
    console.log("two processes:", { parent: mine, child: theirs });

    expect(mine.created + theirs.created).toBe(2 * rounds);
    expect(await store.listSessions({ limit: 10_000 })).toHaveLength(2 * rounds + 1);
    expect(mine.acquired + mine.refused).toBe(rounds);
    // Every lease held wrote exactly one change row under it, with no LEASE_LOST or CONFLICT.
    expect(await store.listPendingChanges(shared.id)).toHaveLength(mine.acquired + theirs.acquired);
    const after = await store.getSession(shared.id);
    expect(after.state).toBe("running");
    expect(after.lease).toBeNull();
    await store.close();
  });

  it("lets two processes open and migrate a fresh file at once", async () => {
    const file = path.join(dir, "fresh", "torpor.sqlite");
    const child = runChild([file, "ses_absent0000000", "child", "0"]);
    const store = openSqliteStore({ file });
    await child.done;
    const version = new Database(file, { readonly: true });
    expect(version.prepare("SELECT COUNT(*) AS n FROM torpor_schema").get()).toEqual({ n: SCHEMA_VERSION });
    version.close();
    await store.close();
  });
});

describe("sqlite schema version", () => {
  it("refuses a file written by a newer schema with SCHEMA_MISMATCH naming the file", async () => {
    const file = path.join(dir, "newer", "torpor.sqlite");
    await openSqliteStore({ file }).close();
    const db = new Database(file);
    db.prepare("INSERT INTO torpor_schema (version, applied_at) VALUES (?, 0)").run(SCHEMA_VERSION + 1);
    db.close();
    let error: unknown;
    try {
      openSqliteStore({ file });
    } catch (e) {
      error = e;
    }
    expect(isTorporError(error, "SCHEMA_MISMATCH")).toBe(true);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
  });

  it("reopens a current file without migrating it again", async () => {
    const file = path.join(dir, "reopen", "torpor.sqlite");
    const first = openSqliteStore({ file });
    const s = await first.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000 });
    await first.close();
    const second = openSqliteStore({ file });
    expect((await second.getSession(s.id)).ownerId).toBe("o");
    await second.close();
  });
});
