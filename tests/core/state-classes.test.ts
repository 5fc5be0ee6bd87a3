/**
 * The state-class table (src/core/state-classes) against a classification written here by hand,
 * its agreement with the transition table (transient states are the ones only a workflow leaves a
 * session in), and the deadline helpers of src/core/deadlines.
 */
import { describe, expect, it } from "vitest";
import {
  ARCHIVE_WARNING_MS,
  archiveCutoff,
  archiveDeadline,
  archivesSoon,
  archiveWarningMs,
  hibernatesAt,
  idleDeadline,
  isIdle,
} from "../../src/core/deadlines";
import { OPERATION_STATES, RESTING_STATES } from "../../src/core/lifecycle";
import { isAsleep, isAwake, isTerminal, isTransient, STATE_CLASS, STATE_CLASSES, statesOf } from "../../src/core/state-classes";
import { SESSION_STATES, type SessionState } from "../../src/core/types";

const HOUR = 3600_000;

const EXPECTED: Record<string, readonly SessionState[]> = {
  awake: ["running"],
  asleep: ["paused", "archived", "failed"],
  transient: ["creating", "hibernating", "archiving", "resuming", "restoring"],
  terminal: ["deleted"],
};

describe("state classes", () => {
  it("puts every state in exactly one class", () => {
    for (const state of SESSION_STATES) {
      const classes = STATE_CLASSES.filter((c) => statesOf(c).includes(state));
      expect(classes, state).toEqual([STATE_CLASS[state]]);
      const predicates = [isAwake, isAsleep, isTransient, isTerminal].filter((p) => p(state));
      expect(predicates, state).toHaveLength(1);
    }
    expect(Object.keys(STATE_CLASS).sort()).toEqual([...SESSION_STATES].sort());
  });

  it("classifies as the lifecycle says", () => {
    for (const cls of STATE_CLASSES) expect(statesOf(cls), cls).toEqual(EXPECTED[cls]);
    // The stores' idle index query reads state = 'running' only: a second awake state needs them changed.
    expect(statesOf("awake")).toEqual(["running"]);
  });

  it("derives the lifecycle's lists from the classes", () => {
    expect(RESTING_STATES).toEqual(["running", "paused", "archived", "failed", "deleted"]);
    expect(OPERATION_STATES.delete).toEqual(SESSION_STATES.filter((s) => s !== "deleted"));
  });
});

describe("idle deadline", () => {
  const s = { lastActivityAt: 1000, idleTimeoutMs: 500 };

  it("is last activity plus the session's own timeout", () => {
    expect(idleDeadline(s)).toBe(1500);
    expect(idleDeadline({ ...s, idleTimeoutMs: 60_000 })).toBe(61_000);
  });

  it("is shown, and reached, only while awake", () => {
    expect(hibernatesAt({ ...s, state: "running" })).toBe(1500);
    expect(isIdle({ ...s, state: "running" }, 1499)).toBe(false);
    expect(isIdle({ ...s, state: "running" }, 1500)).toBe(true);
    for (const state of SESSION_STATES.filter((x) => x !== "running")) {
      expect(hibernatesAt({ ...s, state }), state).toBeNull();
      expect(isIdle({ ...s, state }, 1e12), state).toBe(false);
    }
  });
});

describe("archive deadline", () => {
  it("is pausedAt plus the archive period, for a paused session only", () => {
    expect(archiveDeadline({ state: "paused", pausedAt: 10 }, 2 * HOUR)).toBe(10 + 2 * HOUR);
    expect(archiveDeadline({ state: "paused", pausedAt: null }, 2 * HOUR)).toBeNull();
    for (const state of SESSION_STATES.filter((x) => x !== "paused")) {
      expect(archiveDeadline({ state, pausedAt: 10 }, 2 * HOUR), state).toBeNull();
    }
  });

  it("has a cut-off that selects exactly the sessions past it", () => {
    const now = 10 * HOUR;
    const cutoff = archiveCutoff(now, 2 * HOUR);
    for (const pausedAt of [7 * HOUR, 8 * HOUR, 8 * HOUR + 1]) {
      const due = archiveDeadline({ state: "paused", pausedAt }, 2 * HOUR)! <= now;
      expect(pausedAt <= cutoff, String(pausedAt)).toBe(due);
    }
  });

  it("warns a day ahead, or half a shorter period ahead", () => {
    expect(archiveWarningMs(7 * 24 * HOUR)).toBe(ARCHIVE_WARNING_MS);
    expect(ARCHIVE_WARNING_MS).toBe(24 * HOUR);
    expect(archiveWarningMs(2 * HOUR)).toBe(HOUR);
    expect(archivesSoon(3 * HOUR, 2 * HOUR, 3 * HOUR - 30 * 60_000)).toBe(true);
    expect(archivesSoon(3 * HOUR, 2 * HOUR, 3 * HOUR - HOUR)).toBe(true);
    expect(archivesSoon(3 * HOUR, 2 * HOUR, 3 * HOUR - HOUR - 1)).toBe(false);
    expect(archivesSoon(3 * HOUR, 2 * HOUR, 4 * HOUR)).toBe(true); // overdue: the next sweep
    expect(archivesSoon(null, 2 * HOUR, 0)).toBe(false);
  });
});
