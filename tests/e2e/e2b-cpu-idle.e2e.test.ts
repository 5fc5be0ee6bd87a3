/**
 * CPU counts as activity on E2B, through Sandbox.getMetrics on the double (tests/sandbox/fake-e2b:
 * a sample every 5 s of simulated time, its CPU figure the real load of the sandbox's bubblewrap
 * processes). Same scenario as the local provider's (tests/helpers/cpu-idle): a compiling sandbox
 * is not put to sleep for 3 timeouts, and E2B's own timeout (21 min from create) does not pause
 * it either, since each "cpu" activity moves it; an idle one sleeps at the first sweep past its
 * timeout. One getMetrics call per idle candidate per sweep.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MINUTE, runCpuIdleScenario, TIMEOUT_MS } from "../helpers/cpu-idle";
import { startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";
import { cleanUpFakes, fakeState, fakeTimeouts, FakeSandbox, setFakeClock } from "../sandbox/fake-e2b";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("../sandbox/fake-e2b")).FakeSandbox,
}));

const clock = { now: Math.floor(Date.now() / MINUTE) * MINUTE };
let rt: WorkflowRuntime;

beforeAll(async () => {
  setFakeClock(() => clock.now);
  rt = await startWorkflowRuntime({
    env: { E2B_API_KEY: "e2b_test", TORPOR_IDLE_CPU_THRESHOLD: "0.05", TORPOR_FLUSH_INTERVAL_MS: "0" },
    now: () => clock.now,
  });
});
afterAll(async () => {
  await rt?.close();
  setFakeClock(undefined);
  await cleanUpFakes();
});

describe("CPU as activity (E2B, getMetrics)", () => {
  it("a compiling sandbox stays running for 3 timeouts; an idle one sleeps within timeout + one sweep", async () => {
    const out = await runCpuIdleScenario(rt, clock);
    console.log(`e2b cpu-idle: busy left running at minute ${out.busyLeftAt}, idle at minute ${out.idleLeftAt}; getMetrics calls ${FakeSandbox.getMetrics.mock.calls.length}`);
    expect(out.idleLeftAt).toBe(TIMEOUT_MS / MINUTE);
    expect(out.idle.state).toBe("paused");
    expect(out.busyLeftAt).toBeNull();
    expect(out.busy.state).toBe("running");
    expect(out.busy.lastActivityKind).toBe("cpu");
    expect(fakeState(out.busy.sandboxId!)).toBe("running");
    expect(fakeTimeouts).toEqual([]); // E2B's own deadline never came: each cpu activity moved it
    // One call per idle candidate per sweep: both at minute 10, the busy one at 20 and 30.
    expect(FakeSandbox.getMetrics).toHaveBeenCalledTimes(4);
    const [, opts] = FakeSandbox.getMetrics.mock.calls[3]!;
    expect((opts as { start: Date }).start.getTime()).toBe(clock.now - 5 * MINUTE); // the last 5 min only
  }, 120_000);

  it("getMetrics of a killed sandbox fails SANDBOX_GONE", async () => {
    const info = await rt.runtime.sandboxes.create({ template: "base" });
    await rt.runtime.sandboxes.kill(info.id);
    await expect(rt.runtime.sandboxes.cpuUsage!(info.id, { from: clock.now - MINUTE, to: clock.now })).rejects.toMatchObject({ code: "SANDBOX_GONE" });
  });
});
