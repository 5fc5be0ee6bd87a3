/**
 * CPU as activity: a running session whose sandbox kept the CPU busy is not idle, even when
 * nothing was pinged or written (a long compile, a test run). The idle sweep asks the provider
 * for a CPU window of each idle candidate and records a "cpu" activity instead of hibernating
 * when the window's load is above TORPOR_IDLE_CPU_THRESHOLD.
 *
 * Terms: a *CPU window* is the CPU seconds the sandbox's processes used between two moments of
 * the provider's own clock (only their difference counts here, so a provider on another clock
 * than the sweep's is fine). Its *load* is those seconds per second of wall time, in cores
 * (1 = one core fully busy; a build on 4 cores reads 4). The window asked for starts at the
 * later of the last recorded activity and CPU_WINDOW_MS ago: after a "cpu" activity the next
 * check looks only at the time since, so a build that ends is asleep one timeout later.
 *
 * No memory between sweeps is needed here: E2B's metrics are a window of their own, and the
 * local provider keeps its last cumulative sample per sandbox in its (long-lived) process.
 */

/** The longest look back: "busy in the last 5 min". */
export const CPU_WINDOW_MS = 5 * 60_000;

export interface CpuWindow {
  /** CPU seconds used by every process of the sandbox in [from, to]. */
  cpuSeconds: number;
  /** The provider's clock, epoch ms; only `to - from` is used. */
  from: number;
  to: number;
}

/** A cumulative CPU counter read at one moment (the local provider's /proc sums). */
export interface CpuSample {
  cpuSeconds: number;
  at: number;
}

/** The window the sweep asks about for a session idle since `lastActivityAt` (the sweep's clock). */
export function cpuWindowFor(session: { lastActivityAt: number }, now: number): { from: number; to: number } {
  return { from: Math.max(session.lastActivityAt, now - CPU_WINDOW_MS), to: now };
}

/**
 * The window between two samples of a cumulative counter. A process that ended and was reaped
 * outside the sandbox's tree takes its seconds with it, so the sum can go down: never below 0.
 */
export function windowBetween(previous: CpuSample, current: CpuSample): CpuWindow {
  return { cpuSeconds: Math.max(0, current.cpuSeconds - previous.cpuSeconds), from: previous.at, to: current.at };
}

/** Average cores in use over the window; null when the window is empty (nothing to judge). */
export function cpuLoad(window: CpuWindow): number | null {
  const seconds = (window.to - window.from) / 1000;
  if (!(seconds > 0) || !Number.isFinite(window.cpuSeconds)) return null;
  return Math.max(0, window.cpuSeconds) / seconds;
}

export type CpuVerdict = { busy: true; load: number; windowMs: number } | { busy: false; load: number | null };

/**
 * Busy when the load is above `threshold` (a fraction of one core). A threshold of 0 turns the
 * check off; no window (the provider has no figure yet) is not busy, so a provider that cannot
 * tell never keeps a session awake.
 */
export function cpuVerdict(window: CpuWindow | null, threshold: number): CpuVerdict {
  if (!(threshold > 0) || window === null) return { busy: false, load: null };
  const load = cpuLoad(window);
  if (load === null || load <= threshold) return { busy: false, load };
  return { busy: true, load, windowMs: window.to - window.from };
}

/** "CPU 87% of a core over the last 5 min", for logs and the sweep's record. */
export function describeCpu(load: number, windowMs: number): string {
  const minutes = windowMs / 60_000;
  const span = minutes >= 1 ? `${Math.round(minutes)} min` : `${Math.max(1, Math.round(windowMs / 1000))} s`;
  return `CPU ${Math.round(load * 100)}% of a core over the last ${span}`;
}
