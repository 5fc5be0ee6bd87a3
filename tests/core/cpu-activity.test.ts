/** The pure CPU-as-activity rule (src/core/cpu-activity) and E2B's metrics turned into a window. */
import { describe, expect, it } from "vitest";
import { CPU_WINDOW_MS, cpuLoad, cpuVerdict, cpuWindowFor, describeCpu, windowBetween } from "../../src/core/cpu-activity";
import { cpuWindowOf, METRICS_INTERVAL_MS } from "../../src/sandbox/e2b/metrics";

const MINUTE = 60_000;

describe("cpu verdict", () => {
  it("is busy only above the threshold, in cores over the window's wall time", () => {
    const w = (cpuSeconds: number, ms: number) => ({ cpuSeconds, from: 1000, to: 1000 + ms });
    expect(cpuVerdict(w(30, MINUTE), 0.25)).toEqual({ busy: true, load: 0.5, windowMs: MINUTE });
    expect(cpuVerdict(w(15, MINUTE), 0.25)).toEqual({ busy: false, load: 0.25 }); // at the threshold: not above
    expect(cpuVerdict(w(240, MINUTE), 0.25)).toMatchObject({ busy: true, load: 4 }); // 4 cores of a parallel build
    expect(cpuVerdict(w(0.1, MINUTE), 0.25).busy).toBe(false);
  });

  it("threshold 0 is off; no figure and an empty window are not busy", () => {
    expect(cpuVerdict({ cpuSeconds: 60, from: 0, to: MINUTE }, 0)).toEqual({ busy: false, load: null });
    expect(cpuVerdict(null, 0.25)).toEqual({ busy: false, load: null });
    expect(cpuVerdict({ cpuSeconds: 5, from: 10, to: 10 }, 0.25)).toEqual({ busy: false, load: null });
    expect(cpuLoad({ cpuSeconds: Number.NaN, from: 0, to: 1000 })).toBeNull();
  });

  it("a cumulative counter that went down (a reaped process left the tree) is a window of 0, not negative", () => {
    expect(windowBetween({ cpuSeconds: 10, at: 0 }, { cpuSeconds: 4, at: 2000 })).toEqual({ cpuSeconds: 0, from: 0, to: 2000 });
    expect(windowBetween({ cpuSeconds: 10, at: 0 }, { cpuSeconds: 11.5, at: 2000 })).toEqual({ cpuSeconds: 1.5, from: 0, to: 2000 });
  });

  it("the window asked starts at the last activity, at most CPU_WINDOW_MS back", () => {
    const now = 100 * MINUTE;
    expect(cpuWindowFor({ lastActivityAt: now - 2 * MINUTE }, now)).toEqual({ from: now - 2 * MINUTE, to: now });
    expect(cpuWindowFor({ lastActivityAt: now - 60 * MINUTE }, now)).toEqual({ from: now - CPU_WINDOW_MS, to: now });
  });

  it("describes the load for the log", () => {
    expect(describeCpu(0.874, 5 * MINUTE)).toBe("CPU 87% of a core over the last 5 min");
    expect(describeCpu(2, 1000)).toBe("CPU 200% of a core over the last 1 s");
  });
});

describe("E2B metrics as a CPU window", () => {
  const sample = (t: number, cpuUsedPct: number, cpuCount = 2) => ({ timestamp: new Date(t), cpuUsedPct, cpuCount });

  it("averages cpuUsedPct × cpuCount over the samples, each covering the 5 s before it", () => {
    const t0 = 1_000_000;
    const w = cpuWindowOf([sample(t0, 50), sample(t0 + 5000, 100), sample(t0 + 10_000, 0)])!;
    expect(w.from).toBe(t0 - METRICS_INTERVAL_MS);
    expect(w.to).toBe(t0 + 10_000);
    expect(cpuLoad(w)).toBeCloseTo(1, 6); // (1 + 2 + 0) cores / 3 samples
    expect(cpuVerdict(w, 0.25).busy).toBe(true);
  });

  it("no samples (a sandbox seconds old, a paused one) is no figure; junk samples are ignored", () => {
    expect(cpuWindowOf([])).toBeNull();
    expect(cpuWindowOf([sample(Number.NaN, 50)])).toBeNull();
    const idle = cpuWindowOf([sample(5000, 1), sample(10_000, 2)])!;
    expect(cpuVerdict(idle, 0.25).busy).toBe(false);
  });
});
