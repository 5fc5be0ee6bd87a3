/**
 * Retention as data (planRetention: last N, dailies for D days, pinned and latest never pruned,
 * a warning period before pruning), and the retention run removing expired checkpoints + gc.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { CheckpointRecord } from "../../src/core/types";
import { DAY_MS, pausedExpiryWarning, planRetention } from "../../src/core/retention";
import { createRetentionWorkflow, RETENTION_CRON, RETENTION_JOB, type RetentionRunResult } from "../../src/workflows/retention";
import { createSessionWithFiles, requestId, sampleFiles, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 10, 0, 0, 0);

function cp(id: string, createdAt: number, extra: Partial<CheckpointRecord> = {}): CheckpointRecord {
  return {
    id, sessionId: "ses_x", parentId: null, kind: "hibernate", label: null, status: "committed", pinned: false,
    files: 1, bytes: 1, uploadedBytes: 1, createdAt, committedAt: createdAt, deletedAt: null, ...extra,
  };
}

describe("planRetention", () => {
  it("keeps the last N, the daily newest for D days, pinned and latest; warns, then prunes", () => {
    // Two checkpoints a day for 5 days (day 0 … day 4), at 06:00 and 18:00.
    const checkpoints = [0, 1, 2, 3, 4].flatMap((d) => [
      cp(`d${d}-am`, T0 + d * DAY_MS + 6 * HOUR),
      cp(`d${d}-pm`, T0 + d * DAY_MS + 18 * HOUR),
    ]);
    checkpoints.push(cp("pinned-old", T0 - 30 * DAY_MS, { pinned: true }));
    checkpoints.push(cp("deleted", T0, { status: "deleted" }));
    const now = T0 + 4 * DAY_MS + 20 * HOUR;
    const plan = planRetention({ checkpoints, policy: { keepLast: 3, keepDailyDays: 2 }, latestCheckpointId: "d4-pm", now, warningMs: DAY_MS });
    const status = Object.fromEntries(plan.map((d) => [d.checkpointId, d.status]));
    expect(status).toEqual({
      "d4-pm": "keep", // latest, and one of the last 3
      "d4-am": "keep",
      "d3-pm": "keep", // one of the last 3
      "d3-am": "expiring", // fell out of the last 3 when d4-pm was created, 2 h ago
      "d2-pm": "keep", // the daily of day 2, kept until day 2 ends + 2 days
      "d2-am": "prune", // fell out when d3-pm was created, 26 h ago: past the 24 h warning
      "d1-pm": "expiring", // the daily of day 1: its window ended at the start of day 4, 20 h ago
      "d1-am": "prune",
      "d0-pm": "prune", // the daily of day 0: its window ended 44 h ago
      "d0-am": "prune",
      "pinned-old": "keep",
    });
  });

  it("never prunes when everything is pinned or within the last N", () => {
    const checkpoints = [cp("a", T0, { pinned: true }), cp("b", T0 + 1), cp("c", T0 + 2)];
    const plan = planRetention({ checkpoints, policy: { keepLast: 2, keepDailyDays: 0 }, latestCheckpointId: "c", now: T0 + 400 * DAY_MS });
    expect(plan.every((d) => d.status === "keep")).toBe(true);
  });

  it("warns about a paused sandbox shortly before the archive policy applies", () => {
    expect(pausedExpiryWarning({ id: "s", state: "paused", pausedAt: T0 }, 7 * DAY_MS, T0 + 6.5 * DAY_MS)).toMatch(/will be archived at/);
    expect(pausedExpiryWarning({ id: "s", state: "paused", pausedAt: T0 }, 7 * DAY_MS, T0 + DAY_MS)).toBeNull();
    expect(pausedExpiryWarning({ id: "s", state: "paused", pausedAt: null }, 7 * DAY_MS, T0)).toBeNull();
    // Only a paused session has an archive deadline; an archived one keeps its pausedAt.
    expect(pausedExpiryWarning({ id: "s", state: "archived", pausedAt: T0 }, 7 * DAY_MS, T0 + 6.5 * DAY_MS)).toBeNull();
  });
});

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe("retention run", () => {
  it("prunes expired checkpoints (never pinned or latest) and collects their objects", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const session = await createSessionWithFiles(runtime, sampleFiles("ret"), { retention: { keepLast: 1, keepDailyDays: 0 } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Each version replaces the previous file, so a pruned version's objects become garbage.
      if (i > 0) await runtime.sandboxes.exec(session.sandboxId!, `rm version-${i - 1}.bin`);
      await runtime.sandboxes.writeFile(session.sandboxId!, `version-${i}.bin`, Buffer.alloc(50_000, i));
      const { ids: runIds } = await runtime.dispatcher.send({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: `v${i}`, requestId: requestId() } });
      const snap = await runtime.engine!.waitFor(runIds[0]!);
      ids.push((JSON.parse(snap.result!) as { checkpointId: string }).checkpointId);
    }
    await runtime.store.setCheckpointPinned(ids[0]!, true);
    // Two days later, every checkpoint but the last fell out of "last 1" long ago.
    const engine = runtime.engine!;
    const later = Date.now() + 2 * DAY_MS;
    runtime.deps.now = () => later;
    const run = await engine.waitFor(await engine.tick("retention", later));
    expect(run.status).toBe("completed");
    const result = JSON.parse(run.result!) as RetentionRunResult;
    expect(result.pruned.map((p) => p.checkpointId).sort()).toEqual([ids[1], ids[2]].sort());
    expect(result.gc.deletedObjects).toBeGreaterThan(0);
    const left = (await runtime.store.listCheckpoints(session.id)).map((c) => c.id).sort();
    expect(left).toEqual([ids[0], ids[3]].sort());
    // What is left still restores and verifies.
    for (const id of [ids[0]!, ids[3]!]) expect((await runtime.checkpoints.verify(id)).ok).toBe(true);
  });

  it("prunes change rows flushed and runs finished before the history retention age, and reports the counts", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_HISTORY_RETENTION_DAYS: "1" } });
    const { runtime } = rt;
    const store = runtime.store;
    const now = Date.now();
    const s = await store.createSession({ ownerId: "o", provider: "local", template: "base", idleTimeoutMs: HOUR, sandboxId: "sbx-history", now });
    await store.recordChanges(s.id, [1, 2, 3].map((i) => ({ path: `old-${i}`, operation: "write" as const, at: now - 3 * DAY_MS })));
    await store.markChangesFlushed(s.id, "cp_old", now, now - 2 * DAY_MS);
    await store.recordChanges(s.id, [{ path: "pending", operation: "write", at: now - 5 * DAY_MS }]);
    const finished = async (id: string, workflow: string, sessionId: string | null, endedAt: number) => {
      await store.createRun({ id, workflow, sessionId, input: null, now: endedAt - 1000 });
      await store.recordStep(id, { name: "Step", status: "completed", attempts: 1, startedAt: endedAt - 1000, endedAt, error: null, output: null });
      await store.finishRun(id, { status: "completed", now: endedAt });
    };
    await finished("run_h1", "hibernate", s.id, now - 4 * DAY_MS);
    await finished("run_h2", "hibernate", s.id, now - 3 * DAY_MS);
    await finished("run_h3", "hibernate", s.id, now - 2 * DAY_MS); // the newest hibernate: kept
    await finished("run_s1", "idle-sweep", null, now - 4 * DAY_MS);
    await finished("run_s2", "idle-sweep", null, now - 3 * DAY_MS); // the newest sweep: kept

    // Two days later with a one-day retention age: everything above is old.
    const engine = runtime.engine!;
    const later = now + 2 * DAY_MS;
    runtime.deps.now = () => later;
    const run = await engine.waitFor(await engine.tick("retention", later));
    expect(run.status).toBe("completed");
    const { history } = JSON.parse(run.result!) as RetentionRunResult;
    expect(history).toMatchObject({ before: later - DAY_MS, changes: 3, runs: 3, steps: 3, done: true });
    expect(history.batches).toBeGreaterThanOrEqual(2); // changes, then runs
    expect(run.steps.filter((x) => x.name.startsWith("Prune old change rows and runs, batch"))).toHaveLength(history.batches);
    expect((await store.listPendingChanges(s.id)).map((c) => c.path)).toEqual(["pending"]);
    const left = (await store.listRuns({ limit: 100 })).map((r) => r.id);
    for (const gone of ["run_h1", "run_h2", "run_s1"]) expect(left).not.toContain(gone);
    for (const kept of ["run_h3", "run_s2", run.id]) expect(left).toContain(kept);
    expect(left).toHaveLength(3);

    // The next run finds only the first retention run to delete: the engine ended it on the wall
    // clock, more than a day before this tick, and it is no longer the newest retention run.
    const again = await engine.waitFor(await engine.tick("retention", later + HOUR));
    expect((JSON.parse(again.result!) as RetentionRunResult).history).toMatchObject({ changes: 0, runs: 1, done: true });
    expect(await store.getRun(run.id)).toBeNull();
    expect((await store.listRuns({ limit: 100 })).map((r) => r.id).sort()).toEqual([again.id, "run_h3", "run_s2"].sort());
  });

  it("goes on where a run that reached its part limit stopped, and starts again after the last session", async () => {
    // 2 parts of 3 sessions a run: 10 sessions take two runs; the third run starts again.
    rt = await startWorkflowRuntime({ workflows: [createRetentionWorkflow(RETENTION_CRON, { maxParts: 2, sessionsPerPart: 3 })] });
    const { runtime } = rt;
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      await runtime.store.createSession({ ownerId: "o", provider: "local", template: "base", idleTimeoutMs: HOUR, sandboxId: `sbx-ret-${i}`, now });
    }
    const engine = runtime.engine!;
    const retention = async (at: number) => {
      const run = await engine.waitFor(await engine.tick("retention", at));
      expect(run.status).toBe("completed");
      return (JSON.parse(run.result!) as RetentionRunResult).retention;
    };
    expect(await retention(now)).toEqual({ sessions: 6, parts: 2, done: false, resumed: false });
    expect(await runtime.store.getJobCursor(RETENTION_JOB)).not.toBeNull();
    expect(await retention(now + HOUR)).toEqual({ sessions: 4, parts: 2, done: true, resumed: true });
    expect(await runtime.store.getJobCursor(RETENTION_JOB)).toBeNull();
    expect(await retention(now + 2 * HOUR)).toEqual({ sessions: 6, parts: 2, done: false, resumed: false });
    // A saved position this code cannot read (an older format) starts again at the first session.
    await runtime.store.setJobCursor(RETENTION_JOB, "not json");
    expect(await retention(now + 3 * HOUR)).toEqual({ sessions: 6, parts: 2, done: false, resumed: false });
  });
});
