/**
 * CPU counts as activity on local sandboxes under real bubblewrap (the provider reads its
 * processes' CPU time from /proc): a sandbox compiling with no file writes for 3 idle timeouts is
 * not put to sleep; a truly idle one sleeps at the first sweep past its timeout; a CPU check that
 * fails never keeps a session awake nor stops the others' hibernation.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SandboxError } from "../../src/core/errors";
import type { SandboxProvider } from "../../src/sandbox/types";
import { MINUTE, runCpuIdleScenario, TIMEOUT_MS } from "../helpers/cpu-idle";
import { startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  for (const s of rt ? await rt.runtime.store.listSessions({}) : []) if (s.sandboxId) await rt!.runtime.sandboxes.kill(s.sandboxId);
  await rt?.close();
  rt = undefined;
});

// A busy loop gets well under a core on a loaded 2-core machine: the test threshold is low, an idle sandbox reads ~0.
const env = { TORPOR_BWRAP: "required", TORPOR_IDLE_CPU_THRESHOLD: "0.05", TORPOR_FLUSH_INTERVAL_MS: "0" };

describe("CPU as activity (local provider, bubblewrap)", () => {
  it("a compiling sandbox stays running for 3 timeouts; an idle one sleeps within timeout + one sweep", async () => {
    const clock = { now: Math.floor(Date.now() / MINUTE) * MINUTE };
    const logs: string[] = [];
    rt = await startWorkflowRuntime({ env, now: () => clock.now, log: (m: string) => logs.push(m) });
    expect(rt.config.lifecycle.sweepPeriodMs).toBe(MINUTE);
    const out = await runCpuIdleScenario(rt, clock);
    const kept = logs.filter((m) => m.includes("kept awake"));
    console.log(`local cpu-idle: busy left running at minute ${out.busyLeftAt}, idle at minute ${out.idleLeftAt}; ${kept.join(" | ")}`);
    expect(kept).toHaveLength(3); // minutes 10, 20, 30: one check per timeout
    expect(out.idleLeftAt).toBe(TIMEOUT_MS / MINUTE); // the sweep of the minute its deadline is reached
    expect(out.idle.state).toBe("paused");
    expect(out.busyLeftAt).toBeNull();
    expect(out.busy.state).toBe("running");
    expect(out.busy.lastActivityKind).toBe("cpu");
    // The measured load is stored with the activity (the dashboard's awake reason shows it).
    expect(out.busy.lastCpuCores).toBeGreaterThan(0.05);
    expect(out.busy.lastCpuWindowMs).toBeGreaterThan(0);
    expect(clock.now - out.busy.lastActivityAt).toBeLessThan(TIMEOUT_MS);
    expect(await rt.runtime.sandboxes.status(out.busy.sandboxId!)).toBe("running");
  }, 120_000);

  it("a failing CPU check is logged and treated as not busy: both sessions sleep on time", async () => {
    const clock = { now: Math.floor(Date.now() / MINUTE) * MINUTE };
    const logs: string[] = [];
    const failing = (inner: SandboxProvider): SandboxProvider =>
      Object.assign(Object.create(inner) as SandboxProvider, {
        cpuUsage: async () => {
          throw new SandboxError("PROVIDER", "metrics unavailable");
        },
      });
    rt = await startWorkflowRuntime({ env, now: () => clock.now, wrapSandboxes: failing, log: (m: string) => logs.push(m) });
    const out = await runCpuIdleScenario(rt, clock, 11);
    expect([out.busyLeftAt, out.idleLeftAt]).toEqual([10, 10]);
    expect(out.busy.state).toBe("paused");
    expect(logs.some((m) => m.includes(`CPU check of ${out.busy.id} failed`) && m.includes("metrics unavailable"))).toBe(true);
  }, 120_000);
});
