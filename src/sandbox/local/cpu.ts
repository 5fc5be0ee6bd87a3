/**
 * CPU time of a local sandbox, read from the host's /proc (bubblewrap's pid namespace hides
 * nothing from the host). A sandbox's CPU counter is the sum, over its live processes (see
 * ./processes sandboxMembers), of utime + stime + cutime + cstime: the children fields keep the
 * seconds of a compiler process that ended and was reaped by a member (make, bwrap's init), so a
 * build made of many short processes still counts.
 *
 * The meter keeps the last sample per sandbox in memory. A window is the time since that sample
 * when it is recent enough for the window asked (the sweep's previous look, one period ago), else
 * a short probe (two reads `probeMs` apart). A restarted Torpor just probes once: the local
 * provider only runs inside a long-lived process, so nothing needs to be stored.
 */
import { windowBetween, type CpuSample, type CpuWindow } from "../../core/cpu-activity";
import { procStat } from "./processes";

/** USER_HZ: the unit of /proc/<pid>/stat's times, 100 on every Linux architecture Node runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime + cutime + cstime of one process, in ticks; null when it is gone. */
export function processCpuTicks(pid: number): number | null {
  const ticks = procStat(pid)?.cpuTicks;
  return ticks !== undefined && Number.isFinite(ticks) ? ticks : null;
}

/** CPU seconds used so far by these processes (and the children they reaped). */
export function cpuSecondsOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += processCpuTicks(pid) ?? 0;
  return ticks / CLOCK_TICKS_PER_SECOND;
}

export interface CpuMeterOptions {
  /** The probe's length when no recent sample exists. Default 1000 ms. */
  probeMs?: number;
  /** A previous sample younger than this is too short a window: probe instead. Default 500 ms. */
  minWindowMs?: number;
  now?: () => number;
}

export interface CpuMeter {
  /** The CPU window of one sandbox whose processes are `members()`, over at most `maxAgeMs`. */
  usage(sandboxId: string, members: () => number[], maxAgeMs: number): Promise<CpuWindow>;
  forget(sandboxId: string): void;
}

export function createCpuMeter(options: CpuMeterOptions = {}): CpuMeter {
  const probeMs = options.probeMs ?? 1000;
  const minWindowMs = options.minWindowMs ?? 500;
  const now = options.now ?? Date.now;
  const samples = new Map<string, CpuSample>();
  const read = (members: () => number[]): CpuSample => ({ cpuSeconds: cpuSecondsOf(members()), at: now() });

  return {
    async usage(sandboxId, members, maxAgeMs) {
      // No process at all (a sandbox without a start command, between execs): no CPU, no probe.
      if (members().length === 0) {
        const at = now();
        samples.delete(sandboxId);
        return { cpuSeconds: 0, from: at - Math.max(minWindowMs, Math.min(maxAgeMs, probeMs)), to: at };
      }
      let previous = samples.get(sandboxId);
      const age = previous ? now() - previous.at : Infinity;
      if (!previous || age > maxAgeMs || age < minWindowMs) {
        previous = read(members);
        await new Promise((resolve) => setTimeout(resolve, probeMs));
      }
      const current = read(members);
      samples.set(sandboxId, current);
      return windowBetween(previous, current);
    },
    forget(sandboxId) {
      samples.delete(sandboxId);
    },
  };
}
