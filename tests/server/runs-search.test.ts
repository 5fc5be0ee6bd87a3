/**
 * runs.search / runs.get: the runs page's reads. Filters reach the store, a user sees only the runs
 * of their own sessions (and no sessionless sweep), steps come only with runs.get, and an aborted
 * or skipped hibernate is labelled as such, not "completed".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { runOutcome } from "../../src/server/run-outcome";
import { WORKFLOW_IDS } from "../../src/server/routers/runs";
import { createWorkflows } from "../../src/workflows";
import { alice, bob, operator, startTestRuntime, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => t?.close());

const T = Date.UTC(2026, 0, 1);
const MIN = 60_000;

describe("runs.search and runs.get", () => {
  it("filters, keeps users to their own runs, and gives steps for one run only", async () => {
    const store = t.runtime.store;
    const a = await t.caller(alice).sessions.create({});
    const b = await t.caller(bob).sessions.create({});
    const finished = async (workflow: string, sessionId: string | null, at: number, result: object, status: "completed" | "failed" = "completed") => {
      const run = await store.createRun({ workflow, sessionId, input: { data: { sessionId } }, now: at });
      await store.recordStep(run.id, { name: "Take the lease", status: "completed", attempts: 1, startedAt: at, endedAt: at + 50, error: null, output: null });
      await store.recordStep(run.id, { name: "Pause", status, attempts: 3, startedAt: at + 50, endedAt: at + 400, error: status === "failed" ? "E2B said no" : null, output: null });
      return store.finishRun(run.id, { status, result, error: status === "failed" ? "E2B said no" : null, now: at + 400 });
    };
    const aborted = await finished("hibernate-session", a.id, T, { status: "aborted", reason: "activity during hibernation" });
    const paused = await finished("hibernate-session", a.id, T + MIN, { status: "paused", reason: "idle" });
    const failed = await finished("resume-session", a.id, T + 2 * MIN, {}, "failed");
    const bobs = await finished("hibernate-session", b.id, T + 3 * MIN, { status: "skipped", reason: "lease held" });
    const sweep = await finished("idle-sweep", null, T + 4 * MIN, { hibernated: 0 });
    const window = { startedAfter: T, startedBefore: T + 5 * MIN };

    const mine = await t.caller(alice).runs.search(window);
    expect(mine.runs.map((r) => r.id)).toEqual([failed.id, paused.id, aborted.id]);
    expect(mine.runs.every((r) => r.steps.length === 0)).toBe(true);
    expect(mine.workflows).toContain("hibernate-session");
    expect(mine.runs.map((r) => r.label)).toEqual(["failed", "completed: paused", "aborted: activity won"]);
    expect(mine.runs[2]!.detail).toBe("activity during hibernation");

    const ops = await t.caller(operator).runs.search(window);
    expect(ops.runs.map((r) => r.id)).toEqual([sweep.id, bobs.id, failed.id, paused.id, aborted.id]);
    expect(ops.runs[1]).toMatchObject({ outcome: "skipped", label: "skipped" });
    expect((await t.caller(operator).runs.search({ ...window, workflow: "hibernate-session", limit: 2 })).runs.map((r) => r.id)).toEqual([bobs.id, paused.id]);
    expect((await t.caller(operator).runs.search({ ...window, status: "failed" })).runs.map((r) => r.id)).toEqual([failed.id]);
    expect((await t.caller(operator).runs.search({ ...window, sessionId: b.id })).runs.map((r) => r.id)).toEqual([bobs.id]);
    const page1 = await t.caller(operator).runs.search({ ...window, limit: 2 });
    expect(page1.nextBefore).toBe(T + 3 * MIN);
    const page2 = await t.caller(operator).runs.search({ ...window, startedBefore: page1.nextBefore!, limit: 2 });
    expect(page2.runs.map((r) => r.id)).toEqual([failed.id, paused.id]);
    // Another user's session, and its runs, do not exist for alice.
    await expect(t.caller(alice).runs.search({ sessionId: b.id })).rejects.toMatchObject({ code: "NOT_FOUND" });

    const one = await t.caller(alice).runs.get({ runId: failed.id });
    expect(one.steps.map((s) => [s.name, s.attempts, s.error])).toEqual([["Take the lease", 1, null], ["Pause", 3, "E2B said no"]]);
    expect(one).toMatchObject({ outcome: "failed", detail: "E2B said no" });
    await expect(t.caller(alice).runs.get({ runId: bobs.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(t.caller(alice).runs.get({ runId: sweep.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await t.caller(operator).runs.get({ runId: sweep.id })).steps).toHaveLength(2);
  });

  it("offers every workflow id as a filter", () => {
    expect([...WORKFLOW_IDS].sort()).toEqual(createWorkflows(loadConfig({})).map((w) => w.id).sort());
  });

  it("labels outcomes from the workflows' results", () => {
    const done = (result: object) => runOutcome({ status: "completed", result: JSON.stringify(result), error: null });
    expect(done({ status: "aborted", reason: "typing" })).toEqual({ outcome: "aborted", label: "aborted: activity won", detail: "typing" });
    expect(done({ rung: "restored", why: "sandbox gone" })).toEqual({ outcome: "completed", label: "completed: restored", detail: "sandbox gone" });
    expect(done({ rung: "skipped", why: "busy" }).outcome).toBe("skipped");
    expect(runOutcome({ status: "completed", result: "not json", error: null }).label).toBe("completed");
    expect(runOutcome({ status: "running", result: null, error: null }).outcome).toBe("running");
  });
});
