// A session's own settings through the API (issue 10 item 6): sessions.create takes hooks and
// retention, sessions.update changes them and the idle timeout, merging what is left out; the
// hooks set here are the ones the workflows run (tests/workflows/restore-restart runs them).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alice, bob, startTestRuntime, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => t?.close());

describe("session settings", () => {
  it("create keeps the hooks, the start command and a retention override on the row", async () => {
    const created = await t.caller(alice).sessions.create({
      startCommand: "sleep 600",
      hooks: { beforeCheckpoint: ["git add -A"], afterResume: ["echo back"] },
      retention: { keepLast: 4 },
    });
    const row = await t.runtime.store.getSession(created.id);
    expect(row.hooks).toEqual({ beforeCheckpoint: ["git add -A"], afterResume: ["echo back"], startCommand: "sleep 600" });
    expect(row.retention.keepLast).toBe(4);
    expect(row.retention.keepDailyDays).toBe(t.runtime.config.lifecycle.retainDailyDays);
  });

  it("update merges: left-out fields keep their value, the start command survives a hooks change", async () => {
    const created = await t.caller(alice).sessions.create({ startCommand: "sleep 600", hooks: { afterResume: ["a"] } });
    await t.caller(alice).sessions.update({ sessionId: created.id, hooks: { beforeCheckpoint: ["b1", "b2"] }, idleTimeoutMs: 90_000 });
    let row = await t.runtime.store.getSession(created.id);
    expect(row.hooks).toEqual({ beforeCheckpoint: ["b1", "b2"], afterResume: ["a"], startCommand: "sleep 600" });
    expect(row.idleTimeoutMs).toBe(90_000);
    await t.caller(alice).sessions.update({ sessionId: created.id, hooks: { startCommand: null }, retention: { keepDailyDays: 1 } });
    row = await t.runtime.store.getSession(created.id);
    expect(row.hooks.startCommand).toBeUndefined();
    expect(row.hooks.beforeCheckpoint).toEqual(["b1", "b2"]);
    expect(row.retention.keepDailyDays).toBe(1);
    expect(row.idleTimeoutMs).toBe(90_000);
  });

  it("refuses bad settings and other users' sessions", async () => {
    const created = await t.caller(alice).sessions.create({});
    await expect(t.caller(alice).sessions.update({ sessionId: created.id, idleTimeoutMs: 5 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(t.caller(alice).sessions.update({ sessionId: created.id, hooks: { afterResume: [""] } })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(t.caller(alice).sessions.update({ sessionId: created.id, hooks: { other: [] } as never })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(t.caller(bob).sessions.update({ sessionId: created.id, idleTimeoutMs: 60_000 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await t.runtime.store.getSession(created.id)).idleTimeoutMs).toBe(t.runtime.config.lifecycle.idleTimeoutMs);
  });
});
