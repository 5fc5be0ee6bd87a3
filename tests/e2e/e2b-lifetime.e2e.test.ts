/**
 * The lifecycle against E2B's clock: the real runtime (SQLite, the object store, the embedded
 * engine) on the E2B adapter over the double (tests/sandbox/fake-e2b: a deadline per sandbox,
 * 5 min by default, onTimeout kill|pause, the Hobby cap), in simulated time shared by the
 * workflows, the API and the double. Each simulated minute the idle sweep runs, as its cron would.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Principal } from "../../src/server/auth";
import { createContextInner } from "../../src/server/context";
import { createCaller } from "../../src/server/routers";
import { cleanUpFakes, fakeState, fakeTimeouts, FakeSandbox, setFakeClock } from "../sandbox/fake-e2b";
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
  rt = await startWorkflowRuntime({
    env: { E2B_API_KEY: "e2b_test", TORPOR_ACTIVITY_COALESCE_MS: "15000" }, // defaults: idle 10 min, sweep 1 min, budget 10 min
    now: () => now,
  });
});
afterAll(async () => {
  await rt?.close();
  setFakeClock(undefined);
  await cleanUpFakes();
});
beforeEach(() => vi.clearAllMocks());

const api = () => createCaller(createContextInner({ deps: rt.runtime, principal: alice, now: () => now }));
const timeoutsOf = (sandboxId: string) => fakeTimeouts.filter((t) => t.sandboxId === sandboxId);

/** One simulated minute: time moves, then the sweep runs and every run it starts ends. */
async function minutePasses(): Promise<void> {
  now += MINUTE;
  const engine = rt.runtime.engine!;
  await engine.waitFor(await engine.tick("idle-sweep", now));
  await engine.idle();
}

async function newSession(): Promise<{ id: string; sandboxId: string }> {
  const { id } = await api().sessions.create({});
  const s = await rt.runtime.store.getSession(id);
  return { id, sandboxId: s.sandboxId! };
}

describe("E2B's timeout never decides instead of Torpor", () => {
  it("activity every minute for 30 simulated minutes: E2B never kills or pauses the sandbox; extensions are coalesced", async () => {
    const { id, sandboxId } = await newSession();
    for (let minute = 1; minute <= 30; minute++) {
      await minutePasses();
      const first = await api().activity.ping({ sessionId: id });
      const second = await api().activity.ping({ sessionId: id }); // same instant: a read
      expect([first.written, second.written]).toEqual([true, false]);
      await api().files.write({ sessionId: id, path: "work.txt", content: `minute ${minute}` });
    }
    expect(FakeSandbox.setTimeout).toHaveBeenCalledTimes(30); // once per written ping, never for a read
    expect(FakeSandbox.setTimeout).toHaveBeenLastCalledWith(sandboxId, 21 * MINUTE, expect.anything());
    expect(timeoutsOf(sandboxId)).toEqual([]);
    expect((await rt.runtime.store.getSession(id)).state).toBe("running");
    expect((await api().files.read({ sessionId: id, path: "work.txt" })).content).toBe("minute 30");
    await api().sessions.delete({ sessionId: id });
    await rt.runtime.engine!.idle();
  });

  it("a session's own idle timeout sets its sandbox's lifetime at create (clamped to the Hobby cap)", async () => {
    const { id } = await api().sessions.create({ idleTimeoutMs: 30 * MINUTE });
    expect(FakeSandbox.create).toHaveBeenLastCalledWith("base", expect.objectContaining({ timeoutMs: 41 * MINUTE }));
    const { id: long } = await api().sessions.create({ idleTimeoutMs: 5 * 60 * MINUTE });
    expect(FakeSandbox.create).toHaveBeenLastCalledWith("base", expect.objectContaining({ timeoutMs: 60 * MINUTE }));
    for (const sessionId of [id, long]) await api().sessions.delete({ sessionId });
    await rt.runtime.engine!.idle();
  });

  it("an idle session is hibernated by Torpor (checkpoint, pause) before E2B's own timeout", async () => {
    const { id, sandboxId } = await newSession();
    const createdAt = now;
    await api().files.write({ sessionId: id, path: "draft.txt", content: "unsaved work" });
    let minutes = 0;
    while ((await rt.runtime.store.getSession(id)).state === "running" && minutes < 30) {
      await minutePasses();
      minutes++;
    }
    const s = await rt.runtime.store.getSession(id);
    expect(s.state).toBe("paused");
    expect(s.pausedAt! - createdAt).toBeLessThan(21 * MINUTE); // E2B's deadline: 21 min after create
    expect(minutes).toBe(10); // the sweep of the minute its 10 min idle deadline is reached
    expect(timeoutsOf(sandboxId)).toEqual([]);
    expect(fakeState(sandboxId)).toBe("paused");
    // The continuous flush (every 5 min) saved draft.txt first; the hibernate found the files
    // unchanged since and reused that checkpoint instead of committing an empty one.
    const checkpoints = await rt.runtime.store.listCheckpoints(id);
    expect(checkpoints.map((c) => c.kind)).toEqual(["scheduled"]);
    expect(s.latestCheckpointId).toBe(checkpoints[0]!.id);
    await api().activity.ping({ sessionId: id });
    await rt.runtime.engine!.idle();
    expect((await api().files.read({ sessionId: id, path: "draft.txt" })).content).toBe("unsaved work");
  });

  it("a sandbox E2B killed (5 min, onTimeout kill: a sandbox made before these settings) takes the lost-sandbox path at once", async () => {
    const create = FakeSandbox.create.getMockImplementation()!;
    FakeSandbox.create.mockImplementationOnce((template, opts) => create(template, { ...opts, timeoutMs: 5 * MINUTE, lifecycle: { onTimeout: "kill" } }));
    const { id, sandboxId } = await newSession();
    await api().files.write({ sessionId: id, path: "saved.txt", content: "in the checkpoint" });
    await api().checkpoints.create({ sessionId: id, label: "saved" });
    await rt.runtime.engine!.idle();
    now += 5 * MINUTE;
    expect(fakeState(sandboxId)).toBe("killed");

    await api().sessions.hibernateNow({ sessionId: id });
    await rt.runtime.engine!.idle();
    const s = await rt.runtime.store.getSession(id);
    expect(s.state).toBe("archived");
    expect(s.lastError).toContain(`lost sandbox '${sandboxId}'`);
    const [hibernate] = await rt.runtime.store.listRuns({ sessionId: id, workflow: "hibernate-session" });
    const step = hibernate!.steps.find((x) => x.name === "Flush pending changes and take a checkpoint")!;
    expect(step.attempts).toBe(1); // SANDBOX_GONE is not retried (TIMEOUT was, 5 times, and the session stayed "running")

    await api().activity.ping({ sessionId: id });
    await rt.runtime.engine!.idle();
    expect((await rt.runtime.store.getSession(id)).state).toBe("running");
    expect((await api().files.read({ sessionId: id, path: "saved.txt" })).content).toBe("in the checkpoint");
  });

  it("a sandbox E2B paused on its own (Torpor missed its deadline) is recognised and hibernated with nothing lost", async () => {
    const { id, sandboxId } = await newSession();
    await api().files.write({ sessionId: id, path: "late.txt", content: "written before E2B paused it" });
    now += 25 * MINUTE; // no sweep ran (the app was down): E2B's timeout came first
    expect(fakeState(sandboxId)).toBe("paused");
    expect(timeoutsOf(sandboxId)).toEqual([expect.objectContaining({ action: "pause" })]);
    expect((await rt.runtime.store.getSession(id)).state).toBe("running");

    await minutePasses(); // the sweep finds it idle; hibernate resumes it, checkpoints, pauses
    const s = await rt.runtime.store.getSession(id);
    expect(s.state).toBe("paused");
    expect(s.lastError).toBeNull();
    expect(fakeState(sandboxId)).toBe("paused");
    const [checkpoint] = await rt.runtime.store.listCheckpoints(id);
    expect(checkpoint?.kind).toBe("hibernate");
    expect((await rt.runtime.store.listPendingChanges(id)).length).toBe(0);

    // Resume through the API: the same sandbox, the file as written.
    await api().activity.ping({ sessionId: id });
    await rt.runtime.engine!.idle();
    expect((await rt.runtime.store.getSession(id)).sandboxId).toBe(sandboxId);
    expect((await api().files.read({ sessionId: id, path: "late.txt" })).content).toBe("written before E2B paused it");
  });
});
