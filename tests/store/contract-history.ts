/**
 * The StateStore contract, history pruning: flushed change rows and finished runs older than the
 * cut-off go; pending changes, queued and running runs, the newest run of each workflow per
 * session (or cron workflow) and everything of a session mid-operation stay; one call examines at
 * most `limit` rows and a cursor carries on. Registered by storeContract.
 */
import { expect, it } from "vitest";
import type { HistoryPruneResult, StateStore } from "../../src/store/types";
import { expectCode, MINUTE, T0 } from "./contract";

// contract.ts imports this module before it defines T0 and MINUTE: read them only when called.
/** Everything flushed or finished before this is old. */
const before = () => T0 + 100 * MINUTE;
const later = () => T0 + 200 * MINUTE;

/** Calls pruneHistory until the cursor is null; returns every batch. */
async function pruneAll(store: StateStore, options: { limit?: number; now?: number } = {}): Promise<HistoryPruneResult[]> {
  const batches: HistoryPruneResult[] = [];
  let cursor: string | null = null;
  do {
    const batch: HistoryPruneResult = await store.pruneHistory({
      changesFlushedBefore: before(), runsEndedBefore: before(), cursor, limit: options.limit, now: options.now ?? later(),
    });
    batches.push(batch);
    cursor = batch.cursor;
    expect(batches.length, "the cursor must come to an end").toBeLessThan(100);
  } while (cursor !== null);
  return batches;
}

const total = (batches: HistoryPruneResult[], key: "changes" | "runs" | "steps" | "kept") =>
  batches.reduce((sum, b) => sum + b[key], 0);

export function historyContract(current: () => StateStore): void {
  const running = (store: StateStore) =>
    store.createSession({ ownerId: "alice", provider: "local", template: "base", idleTimeoutMs: MINUTE, sandboxId: `sbx-${Math.random()}`, now: T0 });
  const finished = async (store: StateStore, id: string, workflow: string, sessionId: string | null, start: number, status: "completed" | "failed" | "cancelled" = "completed") => {
    await store.createRun({ id, workflow, sessionId, input: null, now: start });
    await store.recordStep(id, { name: "Do it", status: "completed", attempts: 1, startedAt: start, endedAt: start + 1, error: null, output: null });
    await store.finishRun(id, { status, now: start + 2 });
  };
  const runIds = async (store: StateStore) => (await store.listRuns({ limit: 100 })).map((r) => r.id).sort();

  it("prunes change rows flushed before the cut-off and keeps pending and young flushed ones", async () => {
    const store = current();
    const s = await running(store);
    await store.recordChanges(s.id, [
      { path: "old-flushed-1", operation: "write", at: T0 },
      { path: "old-flushed-2", operation: "delete", at: T0 + 1 },
    ]);
    await store.markChangesFlushed(s.id, "cp_old", T0 + 1, T0 + 5);
    // Recorded long ago but flushed only after the cut-off: its flush time is what counts.
    await store.recordChanges(s.id, [{ path: "young-flushed", operation: "write", at: T0 + 2 }]);
    await store.markChangesFlushed(s.id, "cp_young", T0 + 2, T0 + 150 * MINUTE);
    // Pending, however old: the next checkpoint must still take it.
    await store.recordChanges(s.id, [{ path: "pending-old", operation: "write", at: T0 + 3 }]);

    const batches = await pruneAll(store);
    expect(total(batches, "changes")).toBe(2);
    expect(total(batches, "kept")).toBe(0); // the young one is not even a candidate
    expect((await store.listPendingChanges(s.id)).map((c) => c.path)).toEqual(["pending-old"]);
    // A second pass finds nothing more to delete: the young flushed row is still there to find later.
    expect(total(await pruneAll(store), "changes")).toBe(0);
    const afterCutoffMoves = await store.pruneHistory({ changesFlushedBefore: later(), runsEndedBefore: 0, now: later() });
    expect(afterCutoffMoves.changes).toBe(1);
    expect((await store.listPendingChanges(s.id)).map((c) => c.path)).toEqual(["pending-old"]);
  });

  it("prunes old finished runs with their steps, keeping running, queued and the newest of each workflow", async () => {
    const store = current();
    const s = await running(store);
    const other = await running(store);
    await finished(store, "run_h1", "hibernate", s.id, T0 + 1);
    await finished(store, "run_h2", "hibernate", s.id, T0 + 10, "failed");
    await finished(store, "run_r1", "resume", s.id, T0 + 3, "cancelled");
    await finished(store, "run_r2", "resume", s.id, T0 + 5);
    await finished(store, "run_young", "snapshot", s.id, T0 + 150 * MINUTE);
    await finished(store, "run_young2", "snapshot", s.id, T0 + 160 * MINUTE);
    await finished(store, "run_sweep1", "idle-sweep", null, T0 + 1);
    await finished(store, "run_sweep2", "idle-sweep", null, T0 + 2);
    await store.createRun({ id: "run_running", workflow: "restore", sessionId: other.id, input: null, now: T0 });
    await store.createRun({ id: "run_queued", workflow: "restore", sessionId: other.id, input: null, now: T0 + 1 });
    await store.setRunStatus("run_queued", "queued", T0 + 2);

    const batches = await pruneAll(store);
    expect(total(batches, "runs")).toBe(3); // h1, r1, sweep1
    expect(total(batches, "steps")).toBe(3);
    expect(await runIds(store)).toEqual(
      ["run_h2", "run_queued", "run_r2", "run_running", "run_sweep2", "run_young", "run_young2"].sort(),
    );
    for (const gone of ["run_h1", "run_r1", "run_sweep1"]) expect(await store.getRun(gone)).toBeNull();
    expect((await store.getRun("run_h2"))?.steps).toHaveLength(1);
    expect((await store.listRuns({ sessionId: s.id, workflow: "hibernate" })).map((r) => r.id)).toEqual(["run_h2"]);
  });

  it("keeps everything of a session that holds a live lease, and prunes it once the lease expired", async () => {
    const store = current();
    const s = await running(store);
    await store.recordChanges(s.id, [{ path: "a", operation: "write", at: T0 }]);
    await store.markChangesFlushed(s.id, "cp_1", T0, T0 + 1);
    await finished(store, "run_old", "hibernate", s.id, T0);
    await finished(store, "run_new", "hibernate", s.id, T0 + 10);
    const lease = await store.acquireLease(s.id, { holder: "run_x", operation: "hibernate", ttlMs: 1000 * MINUTE, now: T0 });
    expect(lease.ok).toBe(true);

    const during = await pruneAll(store, { now: T0 + 500 * MINUTE });
    expect(total(during, "changes") + total(during, "runs")).toBe(0);
    expect(total(during, "kept")).toBe(3); // the change, run_old, run_new
    expect(await runIds(store)).toEqual(["run_new", "run_old"]);

    const after = await pruneAll(store, { now: T0 + 2000 * MINUTE });
    expect(total(after, "changes")).toBe(1);
    expect(total(after, "runs")).toBe(1);
    expect(await runIds(store)).toEqual(["run_new"]);
  });

  it("examines at most `limit` rows per call and carries on with the cursor", async () => {
    const store = current();
    const s = await running(store);
    await store.recordChanges(s.id, [0, 1, 2, 3, 4].map((i) => ({ path: `f${i}`, operation: "write" as const, at: T0 + i })));
    await store.markChangesFlushed(s.id, "cp_1", T0 + 10, T0 + 20);
    for (let i = 0; i < 5; i++) await finished(store, `run_${i}`, "hibernate", s.id, T0 + i * 10);

    const first = await store.pruneHistory({ changesFlushedBefore: before(), runsEndedBefore: before(), limit: 2, now: later() });
    expect(first.changes).toBe(2);
    expect(first.cursor).not.toBeNull();
    const batches = [first, ...(await pruneAllFrom(store, first.cursor, 2))];
    for (const b of batches) expect(b.changes + b.runs + b.kept).toBeLessThanOrEqual(2);
    expect(total(batches, "changes")).toBe(5);
    expect(total(batches, "runs")).toBe(4); // run_4 is the newest hibernate
    expect(total(batches, "kept")).toBe(1);
    expect(await runIds(store)).toEqual(["run_4"]);
    await expectCode(store.pruneHistory({ changesFlushedBefore: before(), runsEndedBefore: before(), cursor: "garbage" }), "VALIDATION");
  });
}

async function pruneAllFrom(store: StateStore, cursor: string | null, limit: number): Promise<HistoryPruneResult[]> {
  const batches: HistoryPruneResult[] = [];
  while (cursor !== null) {
    const batch = await store.pruneHistory({ changesFlushedBefore: before(), runsEndedBefore: before(), cursor, limit, now: later() });
    batches.push(batch);
    cursor = batch.cursor;
    expect(batches.length).toBeLessThan(100);
  }
  return batches;
}
