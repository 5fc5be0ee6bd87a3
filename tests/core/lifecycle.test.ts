/**
 * The lifecycle rules of src/core/lifecycle, exhaustively: every state × every event against a
 * table written here independently of the implementation, every state × every operation for the
 * lease, the lease cases (free, own, foreign live, foreign expired, exact expiry), and what
 * activity does in each state.
 */
import { describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import {
  checkLeaseHolder,
  decideActivity,
  decideLease,
  isIdle,
  isLeaseLive,
  LIFECYCLE_EVENTS,
  nextState,
  stateTimes,
  wakeActivity,
  type LifecycleEvent,
} from "../../src/core/lifecycle";
import { OPERATIONS, SESSION_STATES, type Lease, type Operation, type SessionState } from "../../src/core/types";

const ALIVE: SessionState[] = ["creating", "running", "hibernating", "paused", "archiving", "archived", "resuming", "restoring"];

/** The specification: for each event, source state → target state. Anything else is refused. */
const EXPECTED: Record<LifecycleEvent, Partial<Record<SessionState, SessionState>>> = {
  "create.succeeded": { creating: "running" },
  "create.failed": { creating: "failed" },
  "hibernate.start": { running: "hibernating" },
  "hibernate.paused": { hibernating: "paused" },
  "hibernate.aborted": { hibernating: "running" },
  "archive.start": { paused: "archiving", hibernating: "archiving" },
  "archive.done": { archiving: "archived" },
  "archive.aborted": { archiving: "paused" },
  "resume.start": { paused: "resuming", archived: "restoring", failed: "restoring" },
  "resume.fallback": { resuming: "restoring" },
  "resume.done": { resuming: "running", restoring: "running" },
  "resume.failed": { resuming: "paused", restoring: "archived" },
  "restore.start": { running: "restoring", paused: "restoring", archived: "restoring", failed: "restoring" },
  "sandbox.lost": { running: "archived", paused: "archived", archiving: "archived" },
  fail: Object.fromEntries(ALIVE.map((s) => [s, "failed"])),
  delete: Object.fromEntries([...ALIVE, "failed"].map((s) => [s, "deleted"])),
};

const cases = SESSION_STATES.flatMap((state) => LIFECYCLE_EVENTS.map((event) => [state, event] as const));

describe("nextState: every state × every event", () => {
  it("covers all 160 combinations", () => {
    expect(cases).toHaveLength(SESSION_STATES.length * LIFECYCLE_EVENTS.length);
    expect(cases).toHaveLength(160);
  });

  it.each(cases)("%s + %s", (state, event) => {
    const expected = EXPECTED[event][state];
    const result = nextState(state, event);
    if (expected === undefined) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toBe(`'${event}' is not allowed in state '${state}'`);
    } else {
      expect(result).toEqual({ ok: true, from: state, to: expected });
    }
  });

  it("deleted is terminal: no event leaves it", () => {
    expect(LIFECYCLE_EVENTS.filter((e) => nextState("deleted", e).ok)).toEqual([]);
  });

  it("every state except deleted can reach running again", () => {
    const reach = (from: SessionState, seen = new Set<SessionState>()): boolean => {
      if (from === "running") return true;
      seen.add(from);
      return LIFECYCLE_EVENTS.some((e) => {
        const r = nextState(from, e);
        return r.ok && !seen.has(r.to) && reach(r.to, seen);
      });
    };
    for (const state of SESSION_STATES) expect(reach(state), state).toBe(state !== "deleted");
  });
});

/** Which operations may take the lease in which state (the lease table, written independently). */
const MAY: Record<Operation, SessionState[]> = {
  create: ["creating"],
  hibernate: ["running", "hibernating"],
  archive: ["paused", "hibernating", "archiving"],
  resume: ["paused", "archived", "failed", "resuming", "restoring"],
  restore: ["running", "paused", "archived", "failed", "restoring"],
  snapshot: ["running"],
  delete: [...ALIVE, "failed"],
};

const NOW = 1_000_000;
const lease = (holder: string, expiresAt: number, operation: Operation = "hibernate"): Lease => ({ holder, operation, expiresAt });

describe("decideLease", () => {
  const leaseCases = SESSION_STATES.flatMap((state) => OPERATIONS.map((op) => [state, op] as const));
  it.each(leaseCases)("a free session in %s, operation %s", (state, operation) => {
    const decision = decideLease({ state, lease: null }, { holder: "me", operation, now: NOW, ttlMs: 500 });
    if (MAY[operation].includes(state)) {
      expect(decision).toEqual({ ok: true, lease: { holder: "me", operation, expiresAt: NOW + 500 } });
    } else {
      expect(decision.ok).toBe(false);
      if (!decision.ok) expect(decision.reason).toBe(`cannot ${operation} a session in state '${state}'`);
    }
  });

  it("refuses while another holder's lease is live, and says who holds it", () => {
    const held = lease("other", NOW + 1, "resume");
    const decision = decideLease({ state: "running", lease: held }, { holder: "me", operation: "hibernate", now: NOW, ttlMs: 10 });
    expect(decision).toEqual({ ok: false, reason: "session is busy: resume holds the lease", heldBy: held });
  });

  it("takes over a lease at and after its expiry", () => {
    for (const expiresAt of [NOW, NOW - 1]) {
      const decision = decideLease({ state: "running", lease: lease("other", expiresAt) }, { holder: "me", operation: "hibernate", now: NOW, ttlMs: 10 });
      expect(decision).toEqual({ ok: true, lease: { holder: "me", operation: "hibernate", expiresAt: NOW + 10 } });
    }
  });

  it("lets the holder re-acquire its own live lease (a retried step), extending it", () => {
    const decision = decideLease({ state: "running", lease: lease("me", NOW + 5) }, { holder: "me", operation: "hibernate", now: NOW, ttlMs: 100 });
    expect(decision).toEqual({ ok: true, lease: { holder: "me", operation: "hibernate", expiresAt: NOW + 100 } });
  });

  it("refuses the holder's own lease for an operation the state does not allow", () => {
    const decision = decideLease({ state: "paused", lease: lease("me", NOW + 5) }, { holder: "me", operation: "snapshot", now: NOW, ttlMs: 1 });
    expect(decision.ok).toBe(false);
  });

  it("isLeaseLive: null and expired are not live", () => {
    expect(isLeaseLive(null, NOW)).toBe(false);
    expect(isLeaseLive(lease("a", NOW), NOW)).toBe(false);
    expect(isLeaseLive(lease("a", NOW + 1), NOW)).toBe(true);
  });
});

describe("checkLeaseHolder", () => {
  const code = (fn: () => void) => {
    try {
      fn();
      return "ok";
    } catch (error) {
      return isTorporError(error) ? error.code : "other";
    }
  };
  it("passes for the live holder and refuses everything else with LEASE_LOST", () => {
    expect(code(() => checkLeaseHolder({ id: "s", lease: lease("me", NOW + 1) }, "me", NOW))).toBe("ok");
    expect(code(() => checkLeaseHolder({ id: "s", lease: null }, "me", NOW))).toBe("LEASE_LOST");
    expect(code(() => checkLeaseHolder({ id: "s", lease: lease("other", NOW + 1) }, "me", NOW))).toBe("LEASE_LOST");
    expect(code(() => checkLeaseHolder({ id: "s", lease: lease("me", NOW) }, "me", NOW))).toBe("LEASE_LOST");
  });
});

describe("decideActivity in each state", () => {
  const LAST = 10_000;
  const WINDOW = 1000;
  /** [state, wake, refused, written within the window, written past the window] */
  const TABLE: [SessionState, boolean, boolean, boolean, boolean][] = [
    ["creating", false, false, false, true],
    ["running", false, false, false, true],
    ["hibernating", false, false, true, true], // every newer ping counts: activity wins
    ["paused", true, false, false, true],
    ["archiving", true, false, false, true],
    ["archived", true, false, false, true],
    ["resuming", false, false, false, true],
    ["restoring", false, false, false, true],
    ["failed", true, false, false, true],
    ["deleted", false, true, false, false],
  ];
  it("has a row for every state", () => {
    expect(TABLE.map((r) => r[0]).sort()).toEqual([...SESSION_STATES].sort());
  });
  it.each(TABLE)("%s", (state, wake, refused, within, past) => {
    const session = { state, lastActivityAt: LAST };
    expect(decideActivity(session, LAST + WINDOW, WINDOW)).toEqual({ write: within, wake, refused });
    expect(decideActivity(session, LAST + WINDOW + 1, WINDOW)).toEqual({ write: past, wake, refused });
    // An out-of-order ping older than the row never moves last activity back.
    expect(decideActivity(session, LAST - 1, 0).write).toBe(false);
  });
  it("with no window every newer ping writes", () => {
    expect(decideActivity({ state: "running", lastActivityAt: LAST }, LAST + 1, 0).write).toBe(true);
    expect(decideActivity({ state: "running", lastActivityAt: LAST }, LAST, 0).write).toBe(false);
  });
});

describe("isIdle and stateTimes", () => {
  it("is idle only when running and at or past the deadline", () => {
    const s = { lastActivityAt: 100, idleTimeoutMs: 50 };
    expect(isIdle({ ...s, state: "running" }, 149)).toBe(false);
    expect(isIdle({ ...s, state: "running" }, 150)).toBe(true);
    for (const state of SESSION_STATES.filter((x) => x !== "running")) expect(isIdle({ ...s, state }, 1e9)).toBe(false);
  });
  it("stamps pausedAt and archivedAt once, and clears both on running", () => {
    const none = { pausedAt: null, archivedAt: null };
    expect(stateTimes(none, "paused", 5)).toEqual({ pausedAt: 5, archivedAt: null });
    expect(stateTimes({ pausedAt: 5, archivedAt: null }, "paused", 9)).toEqual({ pausedAt: 5, archivedAt: null });
    expect(stateTimes({ pausedAt: 5, archivedAt: null }, "archived", 9)).toEqual({ pausedAt: 5, archivedAt: 9 });
    expect(stateTimes({ pausedAt: 5, archivedAt: 9 }, "archived", 12)).toEqual({ pausedAt: 5, archivedAt: 9 });
    expect(stateTimes({ pausedAt: 5, archivedAt: 9 }, "running", 12)).toEqual(none);
    expect(stateTimes({ pausedAt: 5, archivedAt: 9 }, "restoring", 12)).toEqual({ pausedAt: 5, archivedAt: 9 });
  });
});

describe("wakeActivity", () => {
  it("moves last activity to the moment a resume completes, and only then", () => {
    expect(wakeActivity({ lastActivityAt: 100 }, "resume.done", 500)).toEqual({ lastActivityAt: 500 });
    // Never backwards: activity recorded after the resume started stays.
    expect(wakeActivity({ lastActivityAt: 900 }, "resume.done", 500)).toEqual({ lastActivityAt: 900 });
    for (const event of LIFECYCLE_EVENTS.filter((e) => e !== "resume.done")) {
      expect(wakeActivity({ lastActivityAt: 100 }, event, 500)).toEqual({ lastActivityAt: 100 });
    }
  });
});
