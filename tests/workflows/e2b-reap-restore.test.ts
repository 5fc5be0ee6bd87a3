/**
 * On the E2B double (tests/sandbox/fake-e2b), with the real runtime (SQLite, object store,
 * embedded engine) in simulated time (issue 11):
 * - a restore into a new sandbox (resume's fallback) asks E2B for the same lifetime as
 *   sessions.create: the session's idle timeout + sweep period + hibernate budget, not the
 *   adapter's default (21 min);
 * - the hourly retention run reaps sandboxes no session points at (a run's leaked sandbox), keeps
 *   the one its session points at, young ones, and those whose session this deployment does not
 *   know (another deployment on the same E2B key).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Principal } from "../../src/server/auth";
import { createContextInner } from "../../src/server/context";
import { createCaller } from "../../src/server/routers";
import { REAP_GRACE_MS, REAP_STEP } from "../../src/workflows/reap";
import type { RetentionRunResult } from "../../src/workflows/retention";
import { cleanUpFakes, fakeState, FakeSandbox, setFakeClock } from "../sandbox/fake-e2b";
import { startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("../sandbox/fake-e2b")).FakeSandbox,
}));

const MINUTE = 60_000;
const alice: Principal = { userId: "alice", role: "user" };
let now = Math.floor(Date.now() / MINUTE) * MINUTE;
let rt: WorkflowRuntime;

beforeAll(async () => {
  setFakeClock(() => now);
  rt = await startWorkflowRuntime({ env: { E2B_API_KEY: "e2b_test" }, now: () => now });
});
afterAll(async () => {
  await rt?.close();
  setFakeClock(undefined);
  await cleanUpFakes();
});
beforeEach(() => vi.clearAllMocks());

const api = () => createCaller(createContextInner({ deps: rt.runtime, principal: alice, now: () => now }));

describe("E2B: a restore into a new sandbox", () => {
  it("creates it with the session's lifetime (idle 30 min + sweep 1 + budget 10 = 41 min), like sessions.create", async () => {
    const { id } = await api().sessions.create({ idleTimeoutMs: 30 * MINUTE });
    const first = (await rt.runtime.store.getSession(id)).sandboxId!;
    expect(FakeSandbox.create).toHaveBeenLastCalledWith("base", expect.objectContaining({ timeoutMs: 41 * MINUTE }));
    await api().files.write({ sessionId: id, path: "kept.txt", content: "in the checkpoint" });
    await api().sessions.hibernateNow({ sessionId: id });
    await rt.runtime.engine!.idle();
    expect((await rt.runtime.store.getSession(id)).state).toBe("paused");
    await FakeSandbox.kill(first); // E2B lost the paused sandbox: resume falls back to a restore
    FakeSandbox.create.mockClear();

    await api().activity.ping({ sessionId: id });
    await rt.runtime.engine!.idle();
    const s = await rt.runtime.store.getSession(id);
    expect(s.state).toBe("running");
    expect(s.sandboxId).not.toBe(first);
    expect(FakeSandbox.create).toHaveBeenCalledTimes(1);
    expect(FakeSandbox.create).toHaveBeenLastCalledWith("base", expect.objectContaining({ timeoutMs: 41 * MINUTE, metadata: expect.objectContaining({ torporSession: id }) }));
    expect((await api().files.read({ sessionId: id, path: "kept.txt" })).content).toBe("in the checkpoint");
    await api().sessions.delete({ sessionId: id });
    await rt.runtime.engine!.idle();
  });
});

describe("E2B: the retention run reaps orphan sandboxes", () => {
  it("kills a sandbox its session no longer points at; keeps the pointed-at, the young and another deployment's", async () => {
    const { id } = await api().sessions.create({});
    const pointed = (await rt.runtime.store.getSession(id)).sandboxId!;
    const make = (metadata: Record<string, string>) => rt.runtime.sandboxes.create({ template: "base", metadata }).then((i) => i.id);
    const leaked = await make({ torporSession: id, torporRun: "run_crashed", torporStep: "Create a new sandbox from the template" });
    const foreign = await make({ torporSessionId: "ses_of_another_deployment" });
    const untagged = await make({});
    now += REAP_GRACE_MS + MINUTE;
    const young = await make({ torporSession: id, torporRun: "run_just_now" });

    const engine = rt.runtime.engine!;
    const run = await engine.waitFor(await engine.tick("retention", now));
    expect(run.status).toBe("completed");
    const { reaped } = JSON.parse(run.result!) as RetentionRunResult;
    expect(reaped.killed).toEqual([{ sandboxId: leaked, sessionId: id, why: `its session points at ${pointed}` }]);
    expect(reaped.foreign).toBe(1);
    expect(fakeState(leaked)).toBe("killed");
    for (const kept of [pointed, foreign, untagged, young]) expect(fakeState(kept)).toBe("running");
    expect(run.steps.map((s) => s.name)).toContain(REAP_STEP);

    // The next hour's run kills nothing twice; the young one is past the grace by then.
    now += 60 * MINUTE;
    const again = await engine.waitFor(await engine.tick("retention", now));
    expect((JSON.parse(again.result!) as RetentionRunResult).reaped.killed.map((k) => k.sandboxId)).toEqual([young]);
    for (const sandboxId of [foreign, untagged]) await rt.runtime.sandboxes.kill(sandboxId);
  });
});
