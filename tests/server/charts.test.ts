/** The overview's chart series: fleet per state, sleep split per UTC day, latency buckets; an aborted hibernate neither sleeps nor counts as a pause. */
import { describe, expect, it } from "vitest";
import { SESSION_STATES, type RunRecord, type Session } from "../../src/core/types";
import { computeCharts, CHART_DAYS } from "../../src/server/charts";
import { runKind, sleptMs } from "../../src/server/stats";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 2, 10, 12); // noon on the last charted day
const run = (workflow: string, startedAt: number, endedAt: number, result: object | null = null, sessionId = "ses_1"): RunRecord => ({
  id: `run_${workflow}${startedAt}`, workflow, sessionId, status: "completed", input: "{}", steps: [], result: result && JSON.stringify(result),
  error: null, externalId: null, startedAt, endedAt, updatedAt: endedAt, progress: null,
});
const session = (over: Partial<Session>): Session => ({
  id: "ses_1", ownerId: "u", provider: "local", sandboxId: "sb", template: "base", state: "running",
  lastActivityAt: 0, lastActivityKind: "ping", lastCpuCores: null, lastCpuWindowMs: null, idleTimeoutMs: HOUR, activity: "api+files", flushIntervalMs: null, pausedAt: null, archivedAt: null,
  latestCheckpointId: null, lease: null, lastError: null, hooks: { beforeCheckpoint: [], afterResume: [] },
  retention: { keepLast: 10, keepDailyDays: 7 }, sleepReason: null, wakeReason: null, createdAt: 0, updatedAt: 0, ...over,
});

describe("overview charts", () => {
  it("splits sleep at midnight, buckets latencies, counts the fleet", () => {
    const yesterday22 = NOW - 14 * HOUR; // 22:00 the day before
    const runs = [
      run("hibernate-session", yesterday22 - 300, yesterday22, { status: "paused" }), // 300 ms pause
      run("resume-session", NOW - 2 * HOUR - 1500, NOW - 2 * HOUR, { rung: "connected" }), // slept 22:00 -> 10:00
      run("hibernate-session", NOW - HOUR - 7000, NOW - HOUR, { status: "paused" }), // 7 s pause, asleep since 11:00
      run("resume-session", NOW - 3 * DAY, NOW - 3 * DAY + 45_000, { rung: "restored" }, "ses_2"), // a 45 s restore
    ];
    const sessions = [session({ state: "paused", pausedAt: NOW - HOUR }), session({ id: "ses_2", state: "archived" }), session({ id: "ses_3" })];
    const charts = computeCharts(sessions, runs, NOW, 0.5, SESSION_STATES);
    expect(charts.savedPerDay).toHaveLength(CHART_DAYS);
    const [before, today] = charts.savedPerDay.slice(-2);
    expect(today).toEqual({ day: "2026-03-10", hours: 10 + 1, money: 5.5 });
    expect(before).toEqual({ day: "2026-03-09", hours: 2, money: 1 });
    expect(charts.fleet.find((f) => f.state === "paused")?.sessions).toBe(1);
    expect(charts.fleet.find((f) => f.state === "running")?.sessions).toBe(1);
    expect(charts.fleet.some((f) => f.state === "deleted")).toBe(false);
    const count = (bucket: string) => charts.latency.find((b) => b.bucket === bucket);
    expect(count("< 500 ms")).toMatchObject({ pause: 1, resume: 0, restore: 0 });
    expect(count("5 s–10 s")).toMatchObject({ pause: 1 });
    expect(count("1 s–2 s")).toMatchObject({ resume: 1 });
    expect(count("30 s–60 s")).toMatchObject({ restore: 1 });
    expect(charts.latency.reduce((n, b) => n + b.pause + b.resume + b.restore, 0)).toBe(4);
  });

  it("an aborted hibernate (activity won) is no sleep and no pause", () => {
    const aborted = run("hibernate-session", NOW - 2 * HOUR - 100, NOW - 2 * HOUR, { status: "aborted", reason: "typing" });
    const resume = run("resume-session", NOW - HOUR - 100, NOW - HOUR, { rung: "already-running" });
    expect(runKind(aborted)).toBe("other");
    expect(sleptMs(session({}), [aborted, resume], NOW)).toBe(0);
    const charts = computeCharts([session({})], [aborted], NOW, 1, SESSION_STATES);
    expect(charts.latency.every((b) => b.pause === 0)).toBe(true);
    expect(charts.savedPerDay.every((d) => d.hours === 0)).toBe(true);
  });
});
