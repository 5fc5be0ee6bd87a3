/** The overview's arithmetic: percentiles, sleep intervals from runs, warnings, storage totals. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import type { CheckpointRecord, RunRecord, Session } from "../../src/core/types";
import { computeOverview, percentile, runKind, sleptMs, warningsFor } from "../../src/server/stats";
import { summarise } from "../../src/store/summary";

const HOUR = 3600_000;
const run = (workflow: string, startedAt: number, endedAt: number, status: RunRecord["status"] = "completed"): RunRecord => ({
  id: `run_${workflow}${startedAt}`, workflow, sessionId: "ses_1", status, input: "{}", steps: [], result: null,
  error: null, externalId: null, startedAt, endedAt, updatedAt: endedAt, progress: null,
});
const session = (over: Partial<Session>): Session => ({
  id: "ses_1", ownerId: "u", provider: "local", sandboxId: "sb", template: "base", state: "running",
  lastActivityAt: 0, lastActivityKind: "ping", lastCpuCores: null, lastCpuWindowMs: null, idleTimeoutMs: HOUR, activity: "api+files", flushIntervalMs: null, pausedAt: null, archivedAt: null,
  latestCheckpointId: null, lease: null, lastError: null, hooks: { beforeCheckpoint: [], afterResume: [] },
  retention: { keepLast: 10, keepDailyDays: 7 }, sleepReason: null, wakeReason: null, createdAt: 0, updatedAt: 0, ...over,
});

describe("stats", () => {
  it("percentile picks nearest-rank values", () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 95)).toBe(10);
  });

  it("classifies a resume that had to restore as a restore, and a no-op resume as nothing", () => {
    const withRung = (rung: string) => ({ ...run("resume-session", 0, 1), result: JSON.stringify({ rung }) });
    expect(runKind(withRung("connected"))).toBe("resume");
    expect(runKind(withRung("restored"))).toBe("restore");
    expect(runKind(withRung("already-running"))).toBe("other");
    expect(runKind(run("restore-session", 0, 1))).toBe("restore");
    expect(runKind(run("hibernate-session", 0, 1))).toBe("pause");
    expect(runKind(run("archive-session", 0, 1))).toBe("other");
  });

  it("sleep time runs from a hibernation's end to the next resume's end, or to now", () => {
    const runs = [run("hibernate-session", 0, 1 * HOUR), run("resume-session", 3 * HOUR, 3 * HOUR + 1000), run("hibernate-session", 4 * HOUR, 5 * HOUR)];
    expect(sleptMs(session({ state: "paused", pausedAt: 5 * HOUR }), runs, 6 * HOUR)).toBe(2 * HOUR + 1000 + HOUR);
    // A failed resume does not end the sleep.
    expect(sleptMs(session({ state: "paused" }), [run("hibernate-session", 0, HOUR), run("resume-session", 2 * HOUR, 2 * HOUR, "failed")], 3 * HOUR)).toBe(2 * HOUR);
    expect(sleptMs(session({ state: "running" }), [], 10 * HOUR)).toBe(0);
  });

  it("warns about archive deadlines, stalled leases, failures", () => {
    const config = loadConfig({ TORPOR_ARCHIVE_AFTER_MS: String(2 * HOUR) });
    const w = warningsFor(session({ state: "paused", pausedAt: 0, latestCheckpointId: "cp" }), config, 90 * 60_000);
    expect(w).toEqual([{ sessionId: "ses_1", severity: "info", message: "paused sandbox is archived in 30 min" }]);
    expect(warningsFor(session({ lease: { holder: "h", operation: "hibernate", expiresAt: 5 } }), config, 10)[0]!.message).toContain("stalled");
    expect(warningsFor(session({ state: "failed", lastError: "boom" }), config, 0)[0]).toMatchObject({ severity: "error", message: "failed: boom" });
  });

  it("sums storage and money over sessions", () => {
    const config = loadConfig({ TORPOR_PRICE_PER_HOUR: "0.5" });
    const cp = (id: string, bytes: number, uploadedBytes: number): CheckpointRecord => ({
      id, sessionId: "ses_1", parentId: null, kind: "hibernate", label: null, status: "committed", pinned: false,
      files: 1, bytes, uploadedBytes, createdAt: 0, committedAt: 0, deletedAt: null,
    });
    const s = session({ state: "paused", pausedAt: 0, latestCheckpointId: "cp2" });
    const o = computeOverview(config, [s], new Map([["ses_1", summarise(s, [cp("cp2", 100, 10), cp("cp1", 90, 90)])]]),
      [run("hibernate-session", 0, 0), run("resume-session", 0, 2 * HOUR), run("hibernate-session", 3 * HOUR, 4 * HOUR)], 4 * HOUR);
    expect(o.storage).toEqual({ logicalBytes: 100, describedBytes: 190, storedBytes: 100, checkpoints: 2 });
    expect(o.hoursSaved).toBe(2);
    expect(o.moneySaved).toBe(1);
    expect(o.latencies.pause).toEqual({ count: 2, p50: 0, p95: HOUR });
    expect(o.sessionsByState).toEqual({ paused: 1 });
  });
});
