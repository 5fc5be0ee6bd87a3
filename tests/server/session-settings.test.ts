// A session's own settings through the API (issue 10 item 6): sessions.create takes hooks and
// retention (and the activity policy and flush interval), sessions.update changes them and the idle
// timeout, merging what is left out; the
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

  it("create and update take the activity policy and the flush interval; get returns them", async () => {
    const plain = await t.caller(alice).sessions.create({});
    expect(plain).toMatchObject({ activity: "api+files", flushIntervalMs: null });
    const created = await t.caller(alice).sessions.create({ activity: "api", flushIntervalMs: 120_000 });
    expect(created).toMatchObject({ activity: "api", flushIntervalMs: 120_000 });
    expect(await t.caller(alice).sessions.get({ sessionId: created.id })).toMatchObject({ activity: "api", flushIntervalMs: 120_000 });
    // Left out: kept. 0: off for this session. null: back to the deployment's interval.
    await t.caller(alice).sessions.update({ sessionId: created.id, idleTimeoutMs: 60_000 });
    expect(await t.runtime.store.getSession(created.id)).toMatchObject({ activity: "api", flushIntervalMs: 120_000 });
    const off = await t.caller(alice).sessions.update({ sessionId: created.id, flushIntervalMs: 0, activity: "api+files" });
    expect(off).toMatchObject({ activity: "api+files", flushIntervalMs: 0 });
    await t.caller(alice).sessions.update({ sessionId: created.id, flushIntervalMs: null });
    expect(await t.caller(alice).sessions.get({ sessionId: created.id })).toMatchObject({ activity: "api+files", flushIntervalMs: null });
  });

  it("refuses a bad activity policy or flush interval, at create and update", async () => {
    const created = await t.caller(alice).sessions.create({});
    for (const bad of [{ activity: "files" }, { activity: null }, { flushIntervalMs: -1 }, { flushIntervalMs: 500 }, { flushIntervalMs: 1.5e3 + 0.5 }, { flushIntervalMs: "60000" }]) {
      await expect(t.caller(alice).sessions.update({ sessionId: created.id, ...(bad as object) })).rejects.toMatchObject({ code: "BAD_REQUEST" });
      await expect(t.caller(alice).sessions.create(bad as never)).rejects.toMatchObject({ code: "BAD_REQUEST" });
    }
    expect(await t.runtime.store.getSession(created.id)).toMatchObject({ activity: "api+files", flushIntervalMs: null });
  });

  it("update with hooks round-trips through get (as the dashboard's form saves them), with the hook time limit", async () => {
    const created = await t.caller(alice).sessions.create({ hooks: { beforeCheckpoint: ["git add -A"] } });
    const hooks = { beforeCheckpoint: ["git add -A", "npm run lint -- --fix"], afterResume: ["npm run dev &", "echo resumed >> log.txt"] };
    const updated = await t.caller(alice).sessions.update({ sessionId: created.id, hooks });
    expect(updated.hooks).toEqual(hooks);
    const got = await t.caller(alice).sessions.get({ sessionId: created.id });
    expect(got.hooks).toEqual(hooks);
    expect(got.hookTimeoutMs).toBe(t.runtime.config.lifecycle.hookTimeoutMs);
    // Removing every command of a phase is a change too.
    await t.caller(alice).sessions.update({ sessionId: created.id, hooks: { afterResume: [] } });
    expect((await t.caller(alice).sessions.get({ sessionId: created.id })).hooks).toEqual({ beforeCheckpoint: hooks.beforeCheckpoint, afterResume: [] });
  });

  it("refuses bad hooks with a message that names the field, and keeps the old ones", async () => {
    const created = await t.caller(alice).sessions.create({ hooks: { afterResume: ["echo ok"] } });
    const bad: [unknown, RegExp][] = [
      [{ afterResume: ["   "] }, /hooks\.afterResume\.0/],
      [{ beforeCheckpoint: Array.from({ length: 11 }, (_, i) => `echo ${i}`) }, /hooks\.beforeCheckpoint/],
      [{ afterResume: ["x".repeat(2001)] }, /hooks\.afterResume\.0/],
      [{ afterResume: [42] }, /hooks\.afterResume\.0/],
      [{ afterResume: "echo one" }, /hooks\.afterResume/],
    ];
    for (const [hooks, where] of bad) {
      const error = await t.caller(alice).sessions.update({ sessionId: created.id, hooks: hooks as never }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "BAD_REQUEST" });
      expect((error as Error).message).toMatch(/^Invalid input: /);
      expect((error as Error).message).toMatch(where);
    }
    expect((await t.runtime.store.getSession(created.id)).hooks.afterResume).toEqual(["echo ok"]);
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
