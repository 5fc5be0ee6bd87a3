/**
 * sessions.*: create, get, list, hibernateNow, resume, delete against the real runtime (SQLite,
 * embedded S3, local sandboxes, embedded engine). Lifecycle requests are asynchronous: the tests
 * wait for the state the workflow must reach, and check the files survived the round trip.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alice, startTestRuntime, waitFor, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime({ TORPOR_IDLE_TIMEOUT_MS: "600000" });
});
afterAll(async () => t?.close());

const stateOf = (id: string) => t.runtime.store.getSession(id);

describe("sessions", () => {
  it("create makes a running session with a sandbox, owned by the caller", async () => {
    const created = await t.caller(alice).sessions.create({ idleTimeoutMs: 120_000 });
    expect(created.state).toBe("running");
    expect(created.ownerId).toBe("alice");
    expect(created.provider).toBe("local");
    expect(created.sandboxId).toBeTruthy();
    expect(created.idleTimeoutMs).toBe(120_000);
    expect(created.hibernatesAt).toBe(created.lastActivityAt + 120_000);
    expect(await t.runtime.sandboxes.status(created.sandboxId!)).toBe("running");

    const got = await t.caller(alice).sessions.get({ sessionId: created.id });
    expect(got.id).toBe(created.id);
    expect(got.latestCheckpoint).toBeNull();
    expect(got.storage).toEqual({ logicalBytes: 0, storedBytes: 0, checkpoints: 0 });
  });

  it("list filters by state", async () => {
    const running = await t.caller(alice).sessions.list({ state: "running", limit: 100 });
    expect(running.length).toBeGreaterThan(0);
    expect(running.every((s) => s.state === "running")).toBe(true);
    expect(await t.caller(alice).sessions.list({ state: "archived", limit: 100 })).toEqual([]);
  });

  it("list carries each row's oldest unsaved change, the same time get reads from the pending rows", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    const listed = async () => (await api.sessions.list({ state: "running", limit: 100 })).find((s) => s.id === id)!;
    expect((await listed()).unsavedSince).toBeNull();
    const at = Date.now() - 180_000;
    await t.runtime.store.recordChanges(id, [{ path: "a.txt", operation: "write", at: at + 1000 }, { path: "b.txt", operation: "write", at }]);
    expect((await listed()).unsavedSince).toBe(at);
    expect((await api.sessions.get({ sessionId: id })).unsavedSince).toBe(at);
    await t.runtime.store.markChangesFlushed(id, "cp_covering", at + 1000);
    expect((await listed()).unsavedSince).toBeNull();
    expect((await api.sessions.get({ sessionId: id })).unsavedSince).toBeNull();
  });

  it("hibernateNow pauses with a checkpoint; resume brings the same files back; delete deletes", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    await api.files.write({ sessionId: id, path: "src/main.ts", content: "console.log('hi')\n" });

    const hib = await api.sessions.hibernateNow({ sessionId: id });
    expect(hib.requestId).toMatch(/^req_/);
    const paused = await waitFor("paused", () => stateOf(id), (s) => s.state === "paused");
    expect(paused.latestCheckpointId).not.toBeNull();
    expect(paused.sleepReason?.detail).toContain("manual");
    expect(paused.sleepReason?.kind).toBe("request");
    expect((await api.sessions.get({ sessionId: id })).latestCheckpoint?.files).toBeGreaterThanOrEqual(1);
    // Asking again while it sleeps is a no-op, not an error.
    expect((await api.sessions.hibernateNow({ sessionId: id })).requestId).toBeNull();

    const res = await api.sessions.resume({ sessionId: id });
    expect(res.requestId).toMatch(/^req_/);
    await waitFor("running", () => stateOf(id), (s) => s.state === "running" && s.lease === null);
    expect((await api.files.read({ sessionId: id, path: "src/main.ts" })).content).toBe("console.log('hi')\n");
    expect((await api.sessions.resume({ sessionId: id })).requestId).toBeNull();

    await api.sessions.delete({ sessionId: id });
    await waitFor("deleted", () => stateOf(id), (s) => s.state === "deleted");
    const error = await api.sessions.resume({ sessionId: id }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`Session '${id}' is deleted`);
  });

  it("hibernateNow on a failed (resting) session is a no-op", async () => {
    const { id } = await t.caller(alice).sessions.create({});
    await t.runtime.store.transition(id, "fail", { patch: { lastError: "test" } });
    const error = await t.caller(alice).sessions.hibernateNow({ sessionId: id }).catch((e: unknown) => e);
    // "failed" is a resting state: hibernating it is a no-op.
    expect(error).toEqual({ requestId: null, ids: [], state: "failed" });
  });
});
