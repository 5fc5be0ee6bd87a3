/**
 * History retention as data (src/core/history): which change rows and runs go, and what keeps
 * the others. The stores apply these decisions (tests/store/contract-history.ts).
 */
import { describe, expect, it } from "vitest";
import { decideChange, decideRun, isMidOperation } from "../../src/core/history";
import type { Session } from "../../src/core/types";

const NOW = 1_000_000;
const idle: Pick<Session, "state" | "lease"> = { state: "paused", lease: null };

describe("isMidOperation", () => {
  it("is true under a live lease or in a transient state, false otherwise", () => {
    expect(isMidOperation({ state: "running", lease: { holder: "h", operation: "snapshot", expiresAt: NOW + 1 } }, NOW)).toBe(true);
    expect(isMidOperation({ state: "running", lease: { holder: "h", operation: "snapshot", expiresAt: NOW } }, NOW)).toBe(false);
    for (const state of ["creating", "hibernating", "archiving", "resuming", "restoring"] as const) {
      expect(isMidOperation({ state, lease: null }, NOW), state).toBe(true);
    }
    for (const state of ["running", "paused", "archived", "failed", "deleted"] as const) {
      expect(isMidOperation({ state, lease: null }, NOW), state).toBe(false);
    }
  });
});

describe("decideChange", () => {
  it("prunes only flushed rows older than the cut-off of a resting session", () => {
    const ctx = { before: 500, session: idle, now: NOW };
    expect(decideChange({ checkpointId: "cp", flushedAt: 100 }, ctx)).toEqual({ prune: true });
    expect(decideChange({ checkpointId: "cp", flushedAt: 100 }, { ...ctx, session: null })).toEqual({ prune: true });
    expect(decideChange({ checkpointId: null, flushedAt: null }, { ...ctx, before: NOW * 10 })).toMatchObject({ prune: false, why: "pending" });
    expect(decideChange({ checkpointId: "cp", flushedAt: 500 }, ctx).prune).toBe(false);
    expect(decideChange({ checkpointId: "cp", flushedAt: 100 }, { ...ctx, session: { state: "hibernating", lease: null } })).toMatchObject({
      prune: false, why: "its session is mid-operation",
    });
  });
});

describe("decideRun", () => {
  const ctx = { before: 500, newestOfKindId: "run_new", session: idle, now: NOW };
  it("prunes finished runs older than the cut-off, not the newest of their kind", () => {
    for (const status of ["completed", "failed", "cancelled"] as const) {
      expect(decideRun({ id: "run_old", status, endedAt: 100 }, ctx), status).toEqual({ prune: true });
    }
    expect(decideRun({ id: "run_new", status: "completed", endedAt: 100 }, ctx)).toMatchObject({ prune: false });
    expect(decideRun({ id: "run_old", status: "completed", endedAt: 500 }, ctx)).toMatchObject({ prune: false });
  });
  it("keeps queued and running runs whatever their age, and runs of a session mid-operation", () => {
    expect(decideRun({ id: "run_old", status: "running", endedAt: null }, ctx)).toMatchObject({ prune: false, why: "running" });
    expect(decideRun({ id: "run_old", status: "queued", endedAt: 1 }, ctx)).toMatchObject({ prune: false, why: "queued" });
    const leased = { state: "paused" as const, lease: { holder: "h", operation: "resume" as const, expiresAt: NOW + 1 } };
    expect(decideRun({ id: "run_old", status: "completed", endedAt: 100 }, { ...ctx, session: leased }).prune).toBe(false);
  });
});
