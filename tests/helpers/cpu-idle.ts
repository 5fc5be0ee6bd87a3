/**
 * The CPU-as-activity scenario, run on each provider (tests/workflows/cpu-idle.test.ts on local
 * sandboxes under bubblewrap, tests/e2e/e2b-cpu-idle.e2e.test.ts on the E2B double): two sessions
 * with a 10 min idle timeout and no ping, no file write, for 30 simulated minutes (3 timeouts),
 * the idle sweep running each simulated minute as its cron would. One sandbox burns CPU (a
 * compile that writes nothing), the other sleeps.
 */
import type { Session } from "../../src/core/types";
import type { WorkflowRuntime } from "./runtime";

export const MINUTE = 60_000;
export const TIMEOUT_MS = 10 * MINUTE;
/** A compile with no file writes. */
export const BURN = "while :; do :; done";
export const SLEEPER = "sleep 3600";

export interface CpuIdleOutcome {
  busy: Session;
  idle: Session;
  /** The simulated minute (since the sessions' last activity) at which each left "running"; null: never. */
  busyLeftAt: number | null;
  idleLeftAt: number | null;
}

export async function runCpuIdleScenario(rt: WorkflowRuntime, clock: { now: number }, minutes = 30): Promise<CpuIdleOutcome> {
  const { runtime } = rt;
  const make = async (startCommand: string) => {
    const info = await runtime.sandboxes.create({ template: "base", startCommand });
    return runtime.store.createSession({
      ownerId: "alice", provider: runtime.sandboxes.kind, template: "base", idleTimeoutMs: TIMEOUT_MS, sandboxId: info.id, now: clock.now,
    });
  };
  const busy = await make(BURN);
  const idle = await make(SLEEPER);
  const engine = runtime.engine!;
  const left: Record<string, number | null> = { [busy.id]: null, [idle.id]: null };
  for (let minute = 1; minute <= minutes; minute++) {
    clock.now += MINUTE;
    await engine.waitFor(await engine.tick("idle-sweep", clock.now));
    await engine.idle();
    for (const id of [busy.id, idle.id]) {
      if (left[id] === null && (await runtime.store.getSession(id)).state !== "running") left[id] = minute;
    }
  }
  return {
    busy: await runtime.store.getSession(busy.id),
    idle: await runtime.store.getSession(idle.id),
    busyLeftAt: left[busy.id]!,
    idleLeftAt: left[idle.id]!,
  };
}
