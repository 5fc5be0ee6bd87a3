/**
 * The idle sweep's CPU check (TORPOR_IDLE_CPU_THRESHOLD, src/core/cpu-activity): an idle
 * candidate whose sandbox was busy over the last window gets a "cpu" activity (its idle deadline
 * moves one timeout on, the provider's own lifetime with it) and is not hibernated.
 *
 * Cost: one provider call per idle candidate per sweep (E2B: one getMetrics request; local: a
 * /proc read, or a 1 s probe when its last sample is too old or too young), at most 16 at a time.
 * Advisory by design: a provider error, a session of another provider or a sandbox without a
 * figure counts as not busy, so the check can delay no hibernation but a busy sandbox's.
 */
import { sandboxLifetimeMs } from "../core/config";
import { cpuVerdict, cpuWindowFor, describeCpu } from "../core/cpu-activity";
import type { Session } from "../core/types";
import type { WorkflowDeps } from "./types";

const PARALLEL = 16;

/** Whether the session's sandbox is busy now; records the activity when it is. Never throws. */
async function keptAwake(deps: WorkflowDeps, session: Session, now: number): Promise<boolean> {
  const { sandboxes, config } = deps;
  const log = deps.log ?? ((m: string) => console.error(m));
  if (!sandboxes.cpuUsage || !session.sandboxId || session.provider !== sandboxes.kind) return false;
  try {
    const verdict = cpuVerdict(await sandboxes.cpuUsage(session.sandboxId, cpuWindowFor(session, now)), config.lifecycle.idleCpuThreshold);
    if (!verdict.busy) return false;
    // The figure goes on the row so that the dashboard's awake reason can say how busy it was.
    const result = await deps.store.recordActivity(session.id, {
      at: now, kind: "cpu", coalesceMs: 0, cpuCores: verdict.load, cpuWindowMs: verdict.windowMs,
    });
    log(`[torpor] idle sweep: ${session.id} kept awake, ${describeCpu(verdict.load, verdict.windowMs)}`);
    if (result.written && sandboxes.extendLifetime) {
      await sandboxes
        .extendLifetime(session.sandboxId, sandboxLifetimeMs(config.lifecycle, session.idleTimeoutMs))
        .catch((e: unknown) => log(`[torpor] idle sweep: could not extend the lifetime of ${session.sandboxId}: ${String(e)}`));
    }
    return result.written;
  } catch (error) {
    log(`[torpor] idle sweep: CPU check of ${session.id} failed, treated as not busy: ${String(error)}`);
    return false;
  }
}

/** The candidates that stay idle once the busy ones are kept awake (same order). */
export async function withoutCpuBusy<S extends Session>(deps: WorkflowDeps, candidates: readonly S[], now: number): Promise<S[]> {
  if (!(deps.config.lifecycle.idleCpuThreshold > 0) || !deps.sandboxes.cpuUsage) return [...candidates];
  const busy = new Array<boolean>(candidates.length).fill(false);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < candidates.length) {
      const i = next++;
      busy[i] = await keptAwake(deps, candidates[i]!, now);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, candidates.length) }, worker));
  return candidates.filter((_, i) => !busy[i]);
}
