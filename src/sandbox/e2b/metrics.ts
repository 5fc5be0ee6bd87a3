/**
 * A CPU window from E2B's sandbox metrics (`Sandbox.getMetrics`, e2b 2.x): E2B samples every
 * sandbox about every 5 s; each sample carries `cpuUsedPct` (the share of all the sandbox's
 * vCPUs in use, 0–100) and `cpuCount`. A sample stands for the interval before it, so a window of
 * n samples spans from one interval before the first to the last; its load in cores is the mean
 * of cpuUsedPct / 100 × cpuCount. E2B keeps the series itself, so this needs no memory between
 * sweeps (Inngest on serverless has none). No sample in the range (a sandbox seconds old, a
 * paused one) gives null: no figure, never "busy".
 */
import type { SandboxMetrics } from "e2b";
import type { CpuWindow } from "../../core/cpu-activity";

/** E2B's collection interval (its docs: metrics are collected every 5 seconds). */
export const METRICS_INTERVAL_MS = 5000;

export function cpuWindowOf(metrics: readonly Pick<SandboxMetrics, "timestamp" | "cpuUsedPct" | "cpuCount">[]): CpuWindow | null {
  const samples = metrics.filter((m) => Number.isFinite(m.cpuUsedPct) && Number.isFinite(m.cpuCount) && Number.isFinite(new Date(m.timestamp).getTime()));
  if (samples.length === 0) return null;
  const times = samples.map((m) => new Date(m.timestamp).getTime());
  const from = Math.min(...times) - METRICS_INTERVAL_MS;
  const to = Math.max(...times);
  const cores = samples.reduce((sum, m) => sum + (Math.max(0, m.cpuUsedPct) / 100) * Math.max(0, m.cpuCount), 0) / samples.length;
  return { cpuSeconds: (cores * (to - from)) / 1000, from, to };
}
