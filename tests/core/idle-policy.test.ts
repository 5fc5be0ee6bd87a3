import { describe, expect, it } from "vitest";
import { generateTraces, parseTraceLines } from "../../bench/fixtures/traces";
import {
  emptyGapStats,
  GAP_HALF_LIFE_COUNT,
  idleDeadline,
  MIN_GAP_MS,
  recordGap,
  selectIdle,
  timeoutFor,
  type IdlePolicy,
} from "../../src/core/idle-policy";

const MIN = 60_000;
const adaptive: IdlePolicy = { kind: "adaptive", minMs: 2 * MIN, maxMs: 10 * MIN, quantile: 0.98, marginMs: 30_000, minSamples: 10 };
const withGaps = (gaps: number[]) => gaps.reduce(recordGap, emptyGapStats());

describe("timeoutFor", () => {
  it("fixed: the timeout, whatever the history", () => {
    expect(timeoutFor({ kind: "fixed", timeoutMs: 7 * MIN }, withGaps([2 * MIN, 3 * MIN]))).toBe(7 * MIN);
  });

  it("adaptive: the maximum until enough breaks are known", () => {
    expect(timeoutFor(adaptive, null)).toBe(10 * MIN);
    expect(timeoutFor(adaptive, withGaps(new Array(9).fill(2 * MIN)))).toBe(10 * MIN);
  });

  it("adaptive: just past the session's usual longest break", () => {
    // 50 breaks of 1.2-3.9 min: the 98th percentile's bucket ends at 4 min, plus the 30 s margin.
    const gaps = Array.from({ length: 50 }, (_, i) => 1.2 * MIN + (i / 49) * 2.7 * MIN);
    expect(timeoutFor(adaptive, withGaps(gaps))).toBe(4.5 * MIN);
  });

  it("adaptive: lunch and nights do not stretch the timeout, and it stays within min and max", () => {
    const short = new Array(40).fill(1.2 * MIN);
    expect(timeoutFor(adaptive, withGaps([...short, ...new Array(20).fill(60 * MIN)]))).toBe(2 * MIN);
    expect(timeoutFor(adaptive, withGaps(new Array(40).fill(9.9 * MIN)))).toBe(10 * MIN);
  });

  it("adaptive with unattendedMs: after a write or API call with no ping, the unattended timeout, learned or not", () => {
    const unattended: IdlePolicy = { ...adaptive, unattendedMs: 12 * MIN };
    const learned = withGaps(new Array(40).fill(1.2 * MIN)); // 2 min learned
    expect(timeoutFor(unattended, learned, "ping")).toBe(2 * MIN);
    expect(timeoutFor(unattended, learned)).toBe(2 * MIN); // no kind: a ping
    expect(timeoutFor(unattended, learned, "file")).toBe(12 * MIN);
    expect(timeoutFor(unattended, null, "api")).toBe(12 * MIN);
    expect(timeoutFor(unattended, learned, "command")).toBe(12 * MIN);
    // Without it, every kind gets the learned timeout; a fixed policy ignores the kind.
    expect(timeoutFor(adaptive, learned, "file")).toBe(2 * MIN);
    expect(timeoutFor({ kind: "fixed", timeoutMs: 7 * MIN }, learned, "file")).toBe(7 * MIN);
  });

  it("recordGap ignores the rhythm of work and halves old counts", () => {
    const stats = withGaps([30_000, MIN_GAP_MS - 1]);
    expect(stats.counts.every((c) => c === 0)).toBe(true);
    const many = withGaps(new Array(GAP_HALF_LIFE_COUNT + 1).fill(2 * MIN));
    expect(many.counts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(GAP_HALF_LIFE_COUNT);
  });
});

describe("selectIdle", () => {
  const row = (id: string, state: "running" | "paused", lastActivityAt: number, idleTimeoutMs = 10 * MIN) => ({
    id,
    state,
    lastActivityAt,
    idleTimeoutMs,
  });

  it("takes running sessions past their deadline, the longest overdue first, at most the limit", () => {
    const now = 100 * MIN;
    const sessions = [
      row("a", "running", now - 11 * MIN),
      row("b", "running", now - 9 * MIN),
      row("c", "paused", now - 50 * MIN),
      row("d", "running", now - 30 * MIN),
      row("e", "running", now - 3 * MIN, 2 * MIN),
      row("f", "running", now - 10 * MIN), // exactly at its deadline
    ];
    expect(selectIdle(sessions, now, 10).map((s) => s.id)).toEqual(["d", "a", "e", "f"]);
    expect(selectIdle(sessions, now, 2).map((s) => s.id)).toEqual(["d", "a"]);
    expect(idleDeadline(sessions[0]!)).toBe(now - MIN);
  });
});

describe("trace generator", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = generateTraces({ seed: 7, sessions: 3, days: 2 });
    const b = generateTraces({ seed: 7, sessions: 3, days: 2 });
    const c = generateTraces({ seed: 8, sessions: 3, days: 2 });
    expect(a.length).toBeGreaterThan(500);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it("follows its model: sorted, all three kinds, agent runs of file writes without pings, quiet nights", () => {
    const events = generateTraces({ seed: 3, sessions: 20, days: 5 });
    expect(events.every((e, i) => i === 0 || events[i - 1]!.at <= e.at)).toBe(true);
    expect(new Set(events.map((e) => e.kind))).toEqual(new Set(["ping", "api", "file"]));
    // Some session has 5+ minutes of file writes and no ping: an agent run.
    const bySession = new Map<string, typeof events>();
    for (const e of events) {
      const list = bySession.get(e.session) ?? [];
      list.push(e);
      bySession.set(e.session, list);
    }
    const agentRun = [...bySession.values()].some((list) => {
      let filesSincePing: number[] = [];
      for (const e of list) {
        if (e.kind === "ping") filesSincePing = [];
        else if (e.kind === "file") filesSincePing.push(e.at);
        if (filesSincePing.length > 3 && filesSincePing.at(-1)! - filesSincePing[0]! > 5 * MIN) return true;
      }
      return false;
    });
    expect(agentRun).toBe(true);
    // Nothing between 01:00 and 05:00 UTC.
    expect(events.filter((e) => new Date(e.at).getUTCHours() >= 1 && new Date(e.at).getUTCHours() < 5)).toEqual([]);
  });

  it("reads JSON-lines trace files and names a bad line", () => {
    const text = '# comment\n{"session":"x","at":2000,"kind":"file"}\n\n{"session":"x","at":"1970-01-01T00:00:01Z","kind":"ping"}\n';
    expect(parseTraceLines(text)).toEqual([
      { session: "x", at: 1000, kind: "ping" },
      { session: "x", at: 2000, kind: "file" },
    ]);
    expect(() => parseTraceLines('{"session":"x","at":1,"kind":"typing"}')).toThrow(/trace line 1/);
  });
});
