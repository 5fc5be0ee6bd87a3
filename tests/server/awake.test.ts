// The awake reason sessions.get shows (src/server/awake) follows the session's activity policy
// (issue 10 item 2): under "api" the sandbox's own changes are change rows but not activity, so
// they are not given as the reason; under "api+files" they are. A "cpu" activity (the idle
// sweep's CPU check) is named as such, with the load it measured when the row has it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awakeReason } from "../../src/server/awake";
import { alice, startTestRuntime, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => t?.close());

/** A running session under `activity` whose sandbox changed two files and that saw one files.write. */
async function busySession(activity: "api" | "api+files") {
  const created = await t.caller(alice).sessions.create({ activity });
  const now = Date.now();
  await t.runtime.store.recordChanges(created.id, [
    { path: "build/a.o", operation: "write", at: now - 2000 },
    { path: "build/b.o", operation: "write", at: now - 1000 },
  ]);
  // After the creation's own "api" activity: activity never moves back in time.
  await t.runtime.store.recordActivity(created.id, { at: now + 5, kind: "file", coalesceMs: 0 });
  return created.id;
}

describe("the awake reason", () => {
  it("under 'api' it does not count the sandbox's changes; under 'api+files' it does", async () => {
    const api = await t.caller(alice).sessions.get({ sessionId: await busySession("api") });
    expect(api.state).toBe("running");
    expect(api.awakeReason).toMatch(/^awake: files written through the API \(files\.write\) at \d{4}-/);
    expect(api.awakeReason).not.toMatch(/sandbox processes/);
    expect(api.unsavedSince).not.toBeNull();

    const files = await t.caller(alice).sessions.get({ sessionId: await busySession("api+files") });
    expect(files.awakeReason).toBe("awake: 2 files changed (by sandbox processes or files.write) in the last 5 min");
  });

  it("follows a policy changed through sessions.update", async () => {
    const id = await busySession("api+files");
    await t.caller(alice).sessions.update({ sessionId: id, activity: "api" });
    expect((await t.caller(alice).sessions.get({ sessionId: id })).awakeReason).toMatch(/^awake: files written through the API/);
  });

  it("names the CPU check after a 'cpu' activity", async () => {
    const created = await t.caller(alice).sessions.create({});
    await t.runtime.store.recordActivity(created.id, { at: Date.now() + 5, kind: "cpu", coalesceMs: 0 });
    expect((await t.caller(alice).sessions.get({ sessionId: created.id })).awakeReason).toMatch(/^awake: sandbox processes kept the CPU above the idle threshold/);
  });

  it("gives the measured load, its window and the threshold after a 'cpu' activity that stored them", async () => {
    const created = await t.caller(alice).sessions.create({});
    await t.runtime.store.recordActivity(created.id, { at: Date.now() + 5, kind: "cpu", coalesceMs: 0, cpuCores: 0.62, cpuWindowMs: 60_000 });
    const threshold = t.runtime.config.lifecycle.idleCpuThreshold;
    expect((await t.caller(alice).sessions.get({ sessionId: created.id })).awakeReason).toBe(
      `awake: sandbox processes used 0.62 of a core over the last minute (idle below ${threshold})`,
    );
    const at = Date.now();
    const cpu = { state: "running", lastActivityKind: "cpu", lastActivityAt: at } as const;
    expect(awakeReason({ ...cpu, lastCpuCores: 2.5, lastCpuWindowMs: 5 * 60_000 }, [], at, false, 0.25)).toBe(
      "awake: sandbox processes used 2.50 cores over the last 5 min (idle below 0.25)",
    );
    expect(awakeReason({ ...cpu, lastCpuCores: null, lastCpuWindowMs: null }, [], at, false, 0.25)).toMatch(/^awake: sandbox processes kept the CPU above the idle threshold \(checked at /);
  });

  it("is null for a session that is not running, whatever the policy", () => {
    const at = Date.now();
    for (const activity of ["api", "api+files"] as const) {
      expect(awakeReason({ state: "paused", lastActivityKind: "file", lastActivityAt: at, activity }, [{ path: "a", at }], at)).toBeNull();
    }
  });
});
