/**
 * The StateStore contract, second half: checkpoints (commit and the latest-checkpoint pointer),
 * change rows (pending, then flushed) and runs with their steps. Registered by storeContract.
 */
import { expect, it } from "vitest";
import type { StateStore } from "../../src/store/types";
import { expectCode, MINUTE, T0 } from "./contract";

export function recordsContract(current: () => StateStore): void {
  const session = (store: StateStore) =>
    store.createSession({ ownerId: "alice", provider: "local", template: "base", idleTimeoutMs: MINUTE, sandboxId: null, now: T0 });

  it("commits checkpoints, moves the latest pointer forward only, and re-commits idempotently", async () => {
    const store = current();
    const s = await session(store);
    const first = await store.createCheckpoint({ id: "cp_first", sessionId: s.id, parentId: null, kind: "hibernate", now: T0 + 1 });
    expect(first).toMatchObject({ status: "pending", files: 0, pinned: false, committedAt: null, label: null });
    expect((await store.getSession(s.id)).latestCheckpointId).toBeNull();
    // A retried create step returns the same row.
    expect(await store.createCheckpoint({ id: "cp_first", sessionId: s.id, parentId: null, kind: "hibernate", now: T0 + 9 })).toEqual(first);

    const committed = await store.commitCheckpoint("cp_first", { files: 3, bytes: 30, uploadedBytes: 20 }, T0 + 2);
    expect(committed).toMatchObject({ status: "committed", files: 3, bytes: 30, uploadedBytes: 20, committedAt: T0 + 2 });
    expect((await store.getSession(s.id)).latestCheckpointId).toBe("cp_first");
    const again = await store.commitCheckpoint("cp_first", { files: 99, bytes: 99, uploadedBytes: 99 }, T0 + 5);
    expect(again).toEqual(committed);

    const second = await store.createCheckpoint({ id: "cp_second", sessionId: s.id, parentId: "cp_first", kind: "manual", label: "v2", now: T0 + 3 });
    const older = await store.createCheckpoint({ id: "cp_older", sessionId: s.id, parentId: null, kind: "scheduled", now: T0 + 1 });
    await store.commitCheckpoint(second.id, { files: 4, bytes: 40, uploadedBytes: 10 }, T0 + 4);
    await store.commitCheckpoint(older.id, { files: 1, bytes: 1, uploadedBytes: 1 }, T0 + 6);
    expect((await store.getSession(s.id)).latestCheckpointId).toBe("cp_second");
    const listed = (await store.listCheckpoints(s.id)).map((c) => c.id);
    expect(listed[0]).toBe("cp_second"); // newest first; first and older share a creation time
    expect([...listed].sort()).toEqual(["cp_first", "cp_older", "cp_second"]);
    expect((await store.setCheckpointPinned("cp_first", true)).pinned).toBe(true);

    await store.markCheckpointDeleted("cp_second", T0 + 7);
    expect((await store.getCheckpoint("cp_second"))).toMatchObject({ status: "deleted", deletedAt: T0 + 7 });
    expect((await store.listCheckpoints(s.id)).map((c) => c.id)).not.toContain("cp_second");
    expect((await store.listCheckpoints(s.id, { includeDeleted: true })).map((c) => c.id)).toContain("cp_second");
    expect(["cp_first", "cp_older"]).toContain((await store.getSession(s.id)).latestCheckpointId);
    await expectCode(store.commitCheckpoint("cp_second", { files: 1, bytes: 1, uploadedBytes: 1 }), "CONFLICT");
    expect(await store.getCheckpoint("cp_none")).toBeNull();
    await expectCode(store.commitCheckpoint("cp_none", { files: 1, bytes: 1, uploadedBytes: 1 }), "NOT_FOUND");
    await expectCode(
      store.createCheckpoint({ id: "cp_x", sessionId: "ses_unknown000000", parentId: null, kind: "manual" }),
      "NOT_FOUND",
    );
  });

  it("records change rows as pending and marks those up to a time flushed", async () => {
    const store = current();
    const s = await session(store);
    const other = await session(store);
    const n = await store.recordChanges(s.id, [
      { path: "a.txt", operation: "write", size: 3, at: T0 + 1 },
      { path: "b.txt", operation: "delete", at: T0 + 2 },
      { path: "c.txt", operation: "rename", size: null, at: T0 + 3 },
    ]);
    expect(n).toBe(3);
    await store.recordChanges(other.id, [{ path: "z", operation: "write", at: T0 }]);
    const pending = await store.listPendingChanges(s.id);
    expect(pending.map((c) => [c.path, c.operation, c.size, c.checkpointId])).toEqual([
      ["a.txt", "write", 3, null],
      ["b.txt", "delete", null, null],
      ["c.txt", "rename", null, null],
    ]);
    expect(await store.markChangesFlushed(s.id, "cp_1", T0 + 2)).toBe(2);
    expect((await store.listPendingChanges(s.id)).map((c) => c.path)).toEqual(["c.txt"]);
    expect(await store.markChangesFlushed(s.id, "cp_1", T0 + 2)).toBe(0);
    expect(await store.listPendingChanges(other.id)).toHaveLength(1);
    await expectCode(store.recordChanges("ses_unknown000000", [{ path: "x", operation: "write" }]), "NOT_FOUND");
  });

  it("records runs and upserts steps by name, in first-seen order", async () => {
    const store = current();
    const s = await session(store);
    const run = await store.createRun({ id: "run_one", workflow: "hibernate", sessionId: s.id, input: { reason: "idle" }, now: T0 });
    expect(run).toMatchObject({ status: "running", steps: [], startedAt: T0, endedAt: null, sessionId: s.id });
    expect(JSON.parse(run.input)).toEqual({ reason: "idle" });
    expect((await store.createRun({ id: "run_one", workflow: "hibernate", sessionId: s.id, input: {} })).input).toBe(run.input);

    const step = { name: "Flush pending changes", status: "running" as const, attempts: 1, startedAt: T0, endedAt: null, error: null, output: null };
    await store.recordStep(run.id, step);
    await store.recordStep(run.id, { ...step, name: "Pause sandbox" });
    await store.recordStep(run.id, { ...step, status: "completed", attempts: 2, endedAt: T0 + 5, output: JSON.stringify({ files: 2 }) });
    const got = await store.getRun(run.id);
    expect(got?.steps.map((x) => [x.name, x.status, x.attempts])).toEqual([
      ["Flush pending changes", "completed", 2],
      ["Pause sandbox", "running", 1],
    ]);
    expect(JSON.parse(got!.steps[0]!.output!)).toEqual({ files: 2 });

    await store.setRunStatus(run.id, "queued", T0 + 6);
    expect((await store.getRun(run.id))?.status).toBe("queued");
    const done = await store.finishRun(run.id, { status: "failed", result: { rung: 2 }, error: "boom", now: T0 + 7 });
    expect(done).toMatchObject({ status: "failed", error: "boom", endedAt: T0 + 7 });
    expect(JSON.parse(done.result!)).toEqual({ rung: 2 });

    const sweep = await store.createRun({ workflow: "sweep", sessionId: null, input: null, now: T0 + 8 });
    expect((await store.listRuns()).map((r) => r.id)).toEqual([sweep.id, run.id]);
    expect((await store.listRuns({ sessionId: s.id })).map((r) => r.id)).toEqual([run.id]);
    expect((await store.listRuns({ status: "running" })).map((r) => r.id)).toEqual([sweep.id]);
    expect((await store.listRuns({ workflow: "hibernate", limit: 5 }))[0]?.steps).toHaveLength(2);
    expect(await store.getRun("run_none")).toBeNull();
    await expectCode(store.recordStep("run_none", step), "NOT_FOUND");
    await expectCode(store.finishRun("run_none", { status: "completed" }), "NOT_FOUND");
  });

  it("replaces and clears a run's progress without touching the rest of the run", async () => {
    const store = current();
    const s = await session(store);
    const run = await store.createRun({ id: "run_progress", workflow: "snapshot-session", sessionId: s.id, input: null, now: T0 });
    expect(run.progress).toBeNull();
    const progress = { step: "Take a checkpoint", phase: "upload", filesDone: 12_000, filesTotal: 22_285, bytesDone: 210e6, bytesTotal: 430e6, updatedAt: T0 + 5 };
    await store.setRunProgress(run.id, progress);
    await store.setRunProgress(run.id, { ...progress, filesDone: 13_000 });
    const got = await store.getRun(run.id);
    expect(got?.progress).toEqual({ ...progress, filesDone: 13_000 });
    expect(got?.updatedAt).toBe(run.updatedAt);
    expect((await store.listRuns({ sessionId: s.id }))[0]?.progress).toEqual({ ...progress, filesDone: 13_000 });
    await store.setRunProgress(run.id, null);
    expect((await store.getRun(run.id))?.progress).toBeNull();
    await expectCode(store.setRunProgress("run_none", progress), "NOT_FOUND");
  });
}
