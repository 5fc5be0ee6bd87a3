/**
 * Continuous flush (src/workflows/flush.ts, requested by the idle sweep) on the embedded engine
 * with real components: a running session whose oldest pending change is older than
 * TORPOR_FLUSH_INTERVAL_MS gets one incremental checkpoint ("scheduled") and its rows are marked
 * flushed, without pausing it and without counting as activity; an interval of 0 flushes nothing.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Session } from "../../src/core/types";
import { awakeReason, awakeView } from "../../src/server/awake";
import type { FlushResult } from "../../src/workflows/flush";
import type { SweepResult } from "../../src/workflows/idle-sweep";
import {
  createSessionWithFiles,
  requestId,
  runWorkflow,
  sampleFiles,
  startWorkflowRuntime,
  waitUntil,
  type WorkflowRuntime,
} from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

const HOUR = 3600_000;

/** A running session with a committed checkpoint, then one more file and its change row `ageMs` old. */
async function sessionWithOldChange(w: WorkflowRuntime, ageMs: number): Promise<{ session: Session; baseId: string }> {
  const { runtime } = w;
  const session = await createSessionWithFiles(runtime, sampleFiles("flush"), { idleTimeoutMs: HOUR });
  const snap = await runWorkflow(w, {
    name: "torpor/session.snapshot.requested",
    data: { sessionId: session.id, label: null, requestId: requestId() },
  });
  expect(snap.status, snap.error ?? "").toBe("completed");
  const baseId = (await runtime.store.getSession(session.id)).latestCheckpointId!;
  await runtime.sandboxes.writeFile(session.sandboxId!, "notes/new.txt", "written after the checkpoint\n");
  await runtime.store.recordChanges(session.id, [{ path: "notes/new.txt", operation: "write", at: Date.now() - ageMs }]);
  return { session, baseId };
}

async function sweep(w: WorkflowRuntime): Promise<SweepResult> {
  const engine = w.runtime.engine!;
  const run = await engine.waitFor(await engine.tick("idle-sweep", Date.now()));
  expect(run.status, run.error ?? "").toBe("completed");
  return JSON.parse(run.result!) as SweepResult;
}

describe("the awake reason", () => {
  it("counts the files changed in the last 5 min, or names the editor", () => {
    const now = 10 * 3600_000;
    const running = { state: "running" as const, lastActivityKind: "file" as const, lastActivityAt: now - 1000 };
    const rows = [{ path: "a", at: now - 6 * 60_000 }, { path: "b", at: now - 60_000 }, { path: "c", at: now - 2000 }, { path: "c", at: now - 1000 }];
    expect(awakeReason(running, rows, now)).toBe("awake: 2 files changed (by sandbox processes or files.write) in the last 5 min");
    expect(awakeReason({ ...running, lastActivityKind: "ping" }, rows, now)).toBe("awake: editor activity");
    expect(awakeReason({ ...running, state: "paused" }, rows, now)).toBeNull();
  });
});

describe("continuous flush", () => {
  it("checkpoints a running session whose pending change is older than the interval, and marks the rows flushed", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    expect(runtime.config.lifecycle.flushIntervalMs).toBe(300_000);
    const { session, baseId } = await sessionWithOldChange(rt, 6 * 60_000);
    const before = await runtime.store.getSession(session.id);
    const [row] = await runtime.store.listPendingChanges(session.id);
    expect((await awakeView(runtime.store, before, Date.now())).unsavedSince).toBe(row!.at);

    const result = await sweep(rt);
    expect(result.flush.map((f) => f.sessionId)).toEqual([session.id]);
    expect(result.flush[0]!.reason).toMatch(/changes unsaved since .* flush interval 300s/);
    expect(result.hibernate).toEqual([]);
    const [run] = await waitUntil(
      "the flush run to end",
      () => runtime.store.listRuns({ sessionId: session.id, workflow: "flush-session" }),
      (runs) => runs.length === 1 && runs[0]!.status !== "running" && runs[0]!.status !== "queued",
    );
    expect(run!.status, run!.error ?? "").toBe("completed");
    const flushed = JSON.parse(run!.result!) as FlushResult;
    expect(flushed).toMatchObject({ status: "committed", flushedChanges: 1 });

    const checkpoints = await runtime.store.listCheckpoints(session.id);
    expect(checkpoints).toHaveLength(2);
    expect(checkpoints[0]).toMatchObject({ id: flushed.checkpointId, kind: "scheduled", parentId: baseId, status: "committed" });
    // Incremental: only the new file's bytes went up.
    expect(checkpoints[0]!.uploadedBytes).toBeLessThan(checkpoints[1]!.uploadedBytes);
    const manifest = await runtime.checkpoints.readManifest(flushed.checkpointId!);
    expect(manifest.entries.map((e) => e.path)).toContain("notes/new.txt");

    const after = await runtime.store.getSession(session.id);
    expect(await runtime.store.listPendingChanges(session.id)).toEqual([]);
    expect(after).toMatchObject({ state: "running", latestCheckpointId: flushed.checkpointId, lease: null });
    // A flush is not activity: the idle deadline did not move.
    expect(after.lastActivityAt).toBe(before.lastActivityAt);
    expect((await awakeView(runtime.store, after, Date.now())).unsavedSince).toBeNull();
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("running");

    // Nothing pending any more: the next sweep asks for no flush.
    expect((await sweep(rt)).flush).toEqual([]);
  }, 60_000);

  it("leaves a change younger than the interval, and flushes nothing with an interval of 0", async () => {
    rt = await startWorkflowRuntime();
    const young = await sessionWithOldChange(rt, 60_000);
    expect((await sweep(rt)).flush).toEqual([]);
    await rt.close();

    rt = await startWorkflowRuntime({ env: { TORPOR_FLUSH_INTERVAL_MS: "0" } });
    const { runtime } = rt;
    const { session } = await sessionWithOldChange(rt, 24 * HOUR);
    expect((await sweep(rt)).flush).toEqual([]);
    expect(await runtime.store.listRuns({ workflow: "flush-session" })).toEqual([]);
    expect(await runtime.store.listPendingChanges(session.id)).toHaveLength(1);
    expect(await runtime.store.listCheckpoints(session.id)).toHaveLength(1);
    expect(young.session.id).not.toBe(session.id);
  }, 60_000);

  it("a flush whose session changed nothing since its checkpoint commits none and marks the rows flushed", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const session = await createSessionWithFiles(runtime, sampleFiles("same"), { idleTimeoutMs: HOUR });
    // Files older than the checkpoint's read (no racy-stat doubt about them).
    await runtime.sandboxes.exec(session.sandboxId!, "find . -type f -exec touch -d '2020-01-01 00:00:00' {} +", { timeoutMs: 10_000 });
    const snap = await runWorkflow(rt, {
      name: "torpor/session.snapshot.requested",
      data: { sessionId: session.id, label: null, requestId: requestId() },
    });
    expect(snap.status, snap.error ?? "").toBe("completed");
    const baseId = (await runtime.store.getSession(session.id)).latestCheckpointId!;
    // A row for a file written and put back: the workspace is what the checkpoint holds.
    await runtime.store.recordChanges(session.id, [{ path: "README.md", operation: "write", at: Date.now() - 10 * 60_000 }]);
    const run = await runWorkflow(rt, {
      name: "torpor/session.flush.requested",
      data: { sessionId: session.id, reason: "test", requestId: requestId() },
    });
    expect(run.status, run.error ?? "").toBe("completed");
    expect(JSON.parse(run.result!) as FlushResult).toMatchObject({ status: "reused", checkpointId: baseId, flushedChanges: 1 });
    expect(await runtime.store.listCheckpoints(session.id)).toHaveLength(1);
    expect(await runtime.store.listPendingChanges(session.id)).toEqual([]);
  }, 60_000);
});

describe("a session's own flush interval", () => {
  it("wins over TORPOR_FLUSH_INTERVAL_MS, shorter or longer, in the sweep and in the flush's re-check; 0 never flushes", async () => {
    rt = await startWorkflowRuntime(); // global interval: 5 min
    const { runtime } = rt;
    const shorter = await sessionWithOldChange(rt, 60_000); // too young for 5 min, old for 30 s
    await runtime.store.updateSession(shorter.session.id, { flushIntervalMs: 30_000 });
    const longer = await sessionWithOldChange(rt, 6 * 60_000); // old for 5 min, young for 1 h
    await runtime.store.updateSession(longer.session.id, { flushIntervalMs: HOUR });
    const off = await sessionWithOldChange(rt, 24 * HOUR);
    await runtime.store.updateSession(off.session.id, { flushIntervalMs: 0 });

    const result = await sweep(rt);
    expect(result.flush.map((f) => f.sessionId)).toEqual([shorter.session.id]);
    expect(result.flush[0]!.reason).toMatch(/flush interval 30s/);
    const [run] = await waitUntil(
      "the flush run to end",
      () => runtime.store.listRuns({ sessionId: shorter.session.id, workflow: "flush-session" }),
      (runs) => runs.length === 1 && runs[0]!.status !== "running" && runs[0]!.status !== "queued",
    );
    expect(JSON.parse(run!.result!) as FlushResult).toMatchObject({ status: "committed", flushedChanges: 1 });
    expect(await runtime.store.listPendingChanges(shorter.session.id)).toEqual([]);

    // The flush run checks again by the session's own interval: asked directly, the longer and the
    // off session flush nothing.
    for (const { session } of [longer, off]) {
      const direct = await runWorkflow(rt, { name: "torpor/session.flush.requested", data: { sessionId: session.id, reason: "test", requestId: requestId() } });
      expect(direct.status, direct.error ?? "").toBe("completed");
      expect(JSON.parse(direct.result!) as FlushResult).toMatchObject({ status: "skipped" });
      expect(await runtime.store.listPendingChanges(session.id)).toHaveLength(1);
      expect(await runtime.store.listCheckpoints(session.id)).toHaveLength(1);
    }
    // Back to the deployment's interval (null): the 6-min-old change is due now.
    await runtime.store.updateSession(longer.session.id, { flushIntervalMs: null });
    expect((await sweep(rt)).flush.map((f) => f.sessionId)).toEqual([longer.session.id]);
  }, 90_000);

  it("flushes a session with its own interval when the deployment's is 0", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_FLUSH_INTERVAL_MS: "0" } });
    const own = await sessionWithOldChange(rt, 60_000);
    await rt.runtime.store.updateSession(own.session.id, { flushIntervalMs: 30_000 });
    const global = await sessionWithOldChange(rt, 24 * HOUR);
    expect((await sweep(rt)).flush.map((f) => f.sessionId)).toEqual([own.session.id]);
    expect(global.session.id).not.toBe(own.session.id);
  }, 60_000);
});
