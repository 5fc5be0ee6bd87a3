/**
 * The session timeline (src/server/timeline): periods awake / asleep / archived follow the
 * session's completed hibernate, resume and archive runs with their reasons (an aborted hibernate
 * is no sleep), a paused session's archive time is pausedAt + the archive period, and lastError is
 * stale once a later run completed.
 */
import { describe, expect, it } from "vitest";
import type { RunRecord, Session } from "../../src/core/types";
import { sessionTimeline } from "../../src/server/timeline";

const T = 1_000_000;
const session = (over: Partial<Session> = {}): Session => ({
  id: "ses_000000000001", ownerId: "alice", provider: "local", sandboxId: "sb", template: "base", state: "running",
  lastActivityAt: T + 50, lastActivityKind: "file", idleTimeoutMs: 60_000, pausedAt: null, archivedAt: null,
  latestCheckpointId: null, lease: null, lastError: null, hooks: { beforeCheckpoint: [], afterResume: [] },
  retention: { keepLast: 10, keepDailyDays: 7 }, sleepReason: null, wakeReason: null, createdAt: T, updatedAt: T, ...over,
} as Session);
let n = 0;
const run = (workflow: string, at: number, status: RunRecord["status"], result: object | null, error: string | null = null): RunRecord => ({
  id: `run_${++n}`, workflow, sessionId: "ses_000000000001", status, input: "{}", steps: [], result: result && JSON.stringify(result),
  error, externalId: null, startedAt: at, endedAt: at + 5, updatedAt: at + 5, progress: null,
});

describe("session timeline", () => {
  it("periods follow completed sleeps and wakes with their reasons; an aborted hibernate is no sleep", () => {
    const runs = [
      run("hibernate-session", T + 10, "completed", { status: "aborted", reason: "activity" }),
      run("hibernate-session", T + 100, "completed", { status: "paused", reason: "idle for 60 s" }),
      run("resume-session", T + 200, "completed", { rung: "connected", why: "ping" }),
      run("hibernate-session", T + 300, "completed", { status: "paused", reason: "manual" }),
      run("archive-session", T + 400, "completed", { status: "archived", reason: "paused longer than 1 h" }),
    ];
    const t = sessionTimeline(session({ state: "archived", sleepReason: { at: T + 405, kind: "archive-policy", detail: "paused longer than 1 h" } }), runs, [], [], 3600_000, T + 500);
    expect(t.periods.map((p) => [p.kind, p.from, p.to, p.reason])).toEqual([
      ["awake", T, T + 105, "created"],
      ["asleep", T + 105, T + 205, "idle for 60 s"],
      ["awake", T + 205, T + 305, "connected: ping"],
      ["asleep", T + 305, T + 405, "manual"],
      ["archived", T + 405, T + 500, "paused longer than 1 h"],
    ]);
    expect(t.runs).toHaveLength(5);
    expect(t.runs[0]!.outcome).toBe("aborted");
    expect(t.archive).toEqual({ at: null, reason: "paused longer than 1 h" });
  });

  it("a paused session archives at pausedAt + the archive period; change rows are bucketed", () => {
    const changes = [0, 1, 2].map((i) => ({ id: `c${i}`, sessionId: "ses_000000000001", path: `f${i}`, operation: "write" as const, size: 1, at: T + i, flushedAt: null }));
    const t = sessionTimeline(session({ state: "paused", pausedAt: T + 100 }), [], [], changes as never, 3600_000, T + 200);
    expect(t.archive?.at).toBe(T + 100 + 3600_000);
    expect(t.changes).toEqual([{ at: T, count: 3 }]);
  });

  it("lastError is stale once a later run completed, and current while the failure is the newest", () => {
    const failed = run("resume-session", T + 10, "failed", null, "PROVIDER: no answer");
    const ok = run("resume-session", T + 20, "completed", { rung: "connected" });
    const s = session({ lastError: "PROVIDER: no answer" });
    expect(sessionTimeline(s, [failed, ok], [], [], 1, T + 30).lastError).toEqual({ message: "PROVIDER: no answer", stale: true, at: T + 15 });
    expect(sessionTimeline(s, [failed], [], [], 1, T + 30).lastError?.stale).toBe(false);
    expect(sessionTimeline(session({ lastError: "x", state: "failed" }), [failed, ok], [], [], 1, T + 30).lastError?.stale).toBe(false);
  });
});
