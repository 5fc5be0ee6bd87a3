/**
 * The StateStore contract: what every adapter must do. `storeContract(name, makeStore)` registers
 * the suite; tests/store/sqlite.test.ts and tests/store/convex.test.ts run it.
 *
 * Times are explicit (`now`) so that no assertion depends on the wall clock. Records and runs are
 * in contract-records.ts, history pruning in contract-history.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import type { StateStore } from "../../src/store/types";
import { dashboardContract } from "./contract-dashboard";
import { fleetContract } from "./contract-fleet";
import { historyContract } from "./contract-history";
import { recordsContract } from "./contract-records";
import { runsContract } from "./contract-runs";

export type MakeStore = () => Promise<StateStore> | StateStore;

export const T0 = 1_700_000_000_000;
export const MINUTE = 60_000;

export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a ${code} error`).toBeDefined();
  expect(isTorporError(error) ? error.code : error).toBe(code);
}

export function storeContract(name: string, makeStore: MakeStore): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });
    const running = (ownerId = "alice", now = T0) =>
      store.createSession({ ownerId, provider: "local", template: "base", idleTimeoutMs: 10 * MINUTE, sandboxId: `sbx-${Math.random()}`, now });

    it("creates sessions and finds them by id, owner and sandbox", async () => {
      const a = await store.createSession({ ownerId: "alice", provider: "local", template: "node", idleTimeoutMs: 5000, now: T0 });
      const b = await store.createSession({
        ownerId: "bob", provider: "e2b", template: "base", idleTimeoutMs: 5000, sandboxId: "sbx-b", now: T0 + 1,
        hooks: { afterResume: ["npm run dev"] }, retention: { keepLast: 3 },
      });
      expect(a.state).toBe("creating");
      expect(b.state).toBe("running");
      expect(b.hooks).toEqual({ beforeCheckpoint: [], afterResume: ["npm run dev"] });
      expect(b.retention.keepLast).toBe(3);
      expect(await store.getSession(a.id)).toEqual(a);
      expect((await store.findSessionBySandbox("sbx-b"))?.id).toBe(b.id);
      expect(await store.findSessionBySandbox("nope")).toBeNull();
      expect((await store.listSessions({ ownerId: "alice" })).map((s) => s.id)).toEqual([a.id]);
      expect((await store.listSessions({ state: "running" })).map((s) => s.id)).toEqual([b.id]);
      expect((await store.listSessions()).map((s) => s.id)).toEqual([b.id, a.id]);
    });

    it("keeps a session's activity policy and flush interval: defaults, set at create, updated, cleared", async () => {
      const plain = await running();
      expect(plain).toMatchObject({ activity: "api+files", flushIntervalMs: null });
      expect(await store.getSession(plain.id)).toMatchObject({ activity: "api+files", flushIntervalMs: null });
      const own = await store.createSession({
        ownerId: "alice", provider: "local", template: "base", idleTimeoutMs: 5000, sandboxId: "sbx-own", now: T0,
        activity: "api", flushIntervalMs: 0,
      });
      expect(await store.getSession(own.id)).toMatchObject({ activity: "api", flushIntervalMs: 0 });
      await store.updateSession(own.id, { flushIntervalMs: 90_000 }, { now: T0 + 1 });
      expect(await store.getSession(own.id)).toMatchObject({ activity: "api", flushIntervalMs: 90_000 });
      const back = await store.updateSession(own.id, { activity: "api+files", flushIntervalMs: null }, { now: T0 + 2 });
      expect(back).toMatchObject({ activity: "api+files", flushIntervalMs: null });
      expect(await store.getSession(own.id)).toEqual(back);
      // Lifecycle writes keep them.
      await store.updateSession(plain.id, { activity: "api" }, { now: T0 + 3 });
      await store.transition(plain.id, "hibernate.start", { now: T0 + 4 });
      expect((await store.getSession(plain.id)).activity).toBe("api");
    });

    it("refuses unknown ids with NotFoundError", async () => {
      expect(await store.findSession("ses_unknown000000")).toBeNull();
      await expectCode(store.getSession("ses_unknown000000"), "NOT_FOUND");
      await expectCode(store.transition("ses_unknown000000", "hibernate.start"), "NOT_FOUND");
      await expectCode(store.acquireLease("ses_unknown000000", { holder: "h", operation: "hibernate", ttlMs: 1 }), "NOT_FOUND");
      await expectCode(store.recordActivity("ses_unknown000000", { at: T0, kind: "ping", coalesceMs: 0 }), "NOT_FOUND");
      await expectCode(store.updateSession("ses_unknown000000", { lastError: "x" }), "NOT_FOUND");
    });

    it("applies allowed transitions with their time fields and refuses others", async () => {
      const s = await running();
      const h = await store.transition(s.id, "hibernate.start", { now: T0 + 1 });
      expect(h.state).toBe("hibernating");
      const p = await store.transition(s.id, "hibernate.paused", {
        now: T0 + 2, patch: { sleepReason: { at: T0 + 2, kind: "idle", detail: "10 min" } },
      });
      expect(p).toMatchObject({ state: "paused", pausedAt: T0 + 2, updatedAt: T0 + 2 });
      expect(p.sleepReason?.kind).toBe("idle");
      await expectCode(store.transition(s.id, "hibernate.start"), "CONFLICT");
      expect((await store.getSession(s.id)).state).toBe("paused");
      const r = await store.transition(s.id, "resume.start", { now: T0 + 3 });
      expect(r.state).toBe("resuming");
      const back = await store.transition(s.id, "resume.done", { now: T0 + 4 });
      expect(back).toMatchObject({ state: "running", pausedAt: null });
    });

    it("gives the lease to exactly one of many concurrent callers", async () => {
      const s = await running();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.acquireLease(s.id, { holder: `wf-${i}`, operation: "hibernate", ttlMs: MINUTE, now: T0 + 10 }),
        ),
      );
      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      const holder = (await store.getSession(s.id)).lease?.holder;
      expect(holder).toBe(winners[0]!.session.lease?.holder);
      const loser = results.find((r) => !r.ok);
      expect(loser && !loser.ok && loser.reason).toMatch(/busy/);
    });

    it("refuses a lease for an operation the state does not allow", async () => {
      const s = await running();
      const r = await store.acquireLease(s.id, { holder: "a", operation: "archive", ttlMs: MINUTE, now: T0 });
      expect(r.ok).toBe(false);
      expect((await store.getSession(s.id)).lease).toBeNull();
    });

    it("takes over an expired lease; the old holder then loses its writes", async () => {
      const s = await running();
      expect((await store.acquireLease(s.id, { holder: "old", operation: "hibernate", ttlMs: MINUTE, now: T0 })).ok).toBe(true);
      const early = await store.acquireLease(s.id, { holder: "new", operation: "hibernate", ttlMs: MINUTE, now: T0 + MINUTE - 1 });
      expect(early.ok).toBe(false);
      const late = await store.acquireLease(s.id, { holder: "new", operation: "hibernate", ttlMs: MINUTE, now: T0 + MINUTE });
      expect(late.ok).toBe(true);
      await expectCode(store.transition(s.id, "hibernate.start", { holder: "old", now: T0 + MINUTE + 1 }), "LEASE_LOST");
      await expectCode(store.renewLease(s.id, "old", MINUTE, T0 + MINUTE + 1), "LEASE_LOST");
      const moved = await store.transition(s.id, "hibernate.start", { holder: "new", now: T0 + MINUTE + 2 });
      expect(moved.state).toBe("hibernating");
    });

    it("refuses transitions and updates under a foreign or expired lease", async () => {
      const s = await running();
      await store.acquireLease(s.id, { holder: "mine", operation: "hibernate", ttlMs: MINUTE, now: T0 });
      await expectCode(store.transition(s.id, "hibernate.start", { holder: "other", now: T0 + 1 }), "LEASE_LOST");
      await expectCode(store.updateSession(s.id, { lastError: "x" }, { holder: "other", now: T0 + 1 }), "LEASE_LOST");
      await expectCode(store.updateSession(s.id, { lastError: "x" }, { holder: "mine", now: T0 + MINUTE }), "LEASE_LOST");
      const renewed = await store.renewLease(s.id, "mine", MINUTE, T0 + 10);
      expect(renewed.lease?.expiresAt).toBe(T0 + 10 + MINUTE);
      const updated = await store.updateSession(s.id, { lastError: "disk full", sandboxId: null }, { holder: "mine", now: T0 + 11 });
      expect(updated).toMatchObject({ lastError: "disk full", sandboxId: null, updatedAt: T0 + 11 });
      await store.releaseLease(s.id, "other"); // not ours: no-op
      expect((await store.getSession(s.id)).lease?.holder).toBe("mine");
      await store.releaseLease(s.id, "mine");
      expect((await store.getSession(s.id)).lease).toBeNull();
    });

    it("lists exactly the idle running sessions", async () => {
      const old = await running("a", T0);
      const fresh = await running("b", T0 + 9 * MINUTE);
      const paused = await running("c", T0);
      await store.transition(paused.id, "hibernate.start", { now: T0 });
      await store.transition(paused.id, "hibernate.paused", { now: T0 });
      const exact = await running("d", T0 + MINUTE);
      const now = T0 + 11 * MINUTE;
      const idle = (await store.listIdleSessions(now)).map((s) => s.id).sort();
      expect(idle).toEqual([old.id, exact.id].sort());
      expect(idle).not.toContain(fresh.id);
      expect(await store.listIdleSessions(now, 1)).toHaveLength(1);
      await store.recordActivity(old.id, { at: T0 + 10 * MINUTE, kind: "ping", coalesceMs: 0 });
      expect((await store.listIdleSessions(now)).map((s) => s.id)).toEqual([exact.id]);
      expect((await store.listPausedBefore(T0)).map((s) => s.id)).toEqual([paused.id]);
      expect(await store.listPausedBefore(T0 - 1)).toEqual([]);
    });

    it("restarts the idle clock when a resume completes, so a slow restore is not idle at once", async () => {
      const s = await running("waker", T0);
      await store.transition(s.id, "hibernate.start", { now: T0 + 10 * MINUTE });
      await store.transition(s.id, "hibernate.paused", { now: T0 + 10 * MINUTE });
      await store.transition(s.id, "resume.start", { now: T0 + 60 * MINUTE });
      // The restore took 20 minutes, longer than the 10-minute idle timeout.
      const woke = await store.transition(s.id, "resume.done", { now: T0 + 80 * MINUTE });
      expect(woke.lastActivityAt).toBe(T0 + 80 * MINUTE);
      expect((await store.listIdleSessions(T0 + 89 * MINUTE)).map((x) => x.id)).not.toContain(s.id);
      expect((await store.listIdleSessions(T0 + 90 * MINUTE)).map((x) => x.id)).toContain(s.id);
    });

    it("coalesces activity: writes only when last activity moves by more than the window", async () => {
      const s = await running("a", T0);
      const window = 15_000;
      let writes = 0;
      for (let at = T0; at <= T0 + 60_000; at += 1000) {
        const r = await store.recordActivity(s.id, { at, kind: "ping", coalesceMs: window });
        if (r.written) writes++;
        expect(r.wake).toBe(false);
      }
      // 61 pings over 60 s with a 15 s window: written at +16, +32, +48 s.
      expect(writes).toBe(3);
      const row = await store.getSession(s.id);
      expect(row.lastActivityAt).toBe(T0 + 48_000);
      const stale = await store.recordActivity(s.id, { at: T0, kind: "file", coalesceMs: 0 });
      expect(stale.written).toBe(false);
      expect(stale.session.lastActivityAt).toBe(T0 + 48_000);
    });

    it("wakes on activity in a sleeping state, writes every ping while hibernating, refuses deleted", async () => {
      const s = await running("a", T0);
      await store.transition(s.id, "hibernate.start", { now: T0 });
      const during = await store.recordActivity(s.id, { at: T0 + 1, kind: "file", coalesceMs: MINUTE });
      expect(during).toMatchObject({ written: true, wake: false });
      expect(during.session.lastActivityKind).toBe("file");
      await store.transition(s.id, "hibernate.paused", { now: T0 + 2 });
      const ping = await store.recordActivity(s.id, { at: T0 + 3, kind: "ping", coalesceMs: MINUTE });
      expect(ping).toMatchObject({ written: false, wake: true });
      await store.transition(s.id, "delete", { now: T0 + 4 });
      await expectCode(store.recordActivity(s.id, { at: T0 + 5, kind: "ping", coalesceMs: 0 }), "CONFLICT");
    });

    it("stores a cpu activity's measured load; a later non-cpu activity clears it, a coalesced one does not", async () => {
      const s = await running("a", T0);
      expect(s).toMatchObject({ lastCpuCores: null, lastCpuWindowMs: null });
      const cpu = await store.recordActivity(s.id, { at: T0 + MINUTE, kind: "cpu", coalesceMs: 0, cpuCores: 0.62, cpuWindowMs: MINUTE });
      expect(cpu.session).toMatchObject({ lastActivityKind: "cpu", lastCpuCores: 0.62, lastCpuWindowMs: MINUTE });
      expect(await store.getSession(s.id)).toMatchObject({ lastActivityKind: "cpu", lastCpuCores: 0.62, lastCpuWindowMs: MINUTE });
      const coalesced = await store.recordActivity(s.id, { at: T0 + MINUTE + 1, kind: "ping", coalesceMs: MINUTE });
      expect(coalesced.written).toBe(false);
      expect(await store.getSession(s.id)).toMatchObject({ lastActivityKind: "cpu", lastCpuCores: 0.62 });
      await store.recordActivity(s.id, { at: T0 + 3 * MINUTE, kind: "ping", coalesceMs: MINUTE });
      expect(await store.getSession(s.id)).toMatchObject({ lastActivityKind: "ping", lastCpuCores: null, lastCpuWindowMs: null });
      // A cpu activity without a figure (a caller that measured none) stores none.
      await store.recordActivity(s.id, { at: T0 + 4 * MINUTE, kind: "cpu", coalesceMs: 0 });
      expect(await store.getSession(s.id)).toMatchObject({ lastActivityKind: "cpu", lastCpuCores: null });
    });

    recordsContract(() => store);
    historyContract(() => store);
    dashboardContract(() => store);
    runsContract(() => store);
    fleetContract(() => store);
  });
}
