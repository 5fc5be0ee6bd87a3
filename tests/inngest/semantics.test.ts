/**
 * The Inngest functions as Inngest really runs them (./executor: one request per step, memoized
 * step errors handed back to the handler, retries, sleeps, the 1,000-step cap), against real
 * components (SQLite, embedded S3, local sandboxes):
 *
 * - a resume queued behind a hibernate of the same session waits for the lease (step.sleep)
 *   instead of spending its retries on LEASE_HELD;
 * - a step that fails for good is recorded as failed (NonRetriableError thrown inside the step,
 *   with the error's code in its cause), and the clean-up steps still run;
 * - onFailure and the cancellation function settle a session a run left mid-operation;
 * - retention over 2,000 sessions with expired checkpoints stays far below the step cap;
 * - the options every function declares (concurrency shared across functions, onFailure).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  cancelledFunction,
  functions,
  hibernateFunction,
  idleSweepFunction,
  restoreFunction,
  resumeFunction,
  retentionFunction,
  setWorkflowDeps,
} from "../../inngest";
import { SESSION_CONCURRENCY } from "../../inngest/wrap";
import type { SandboxProvider } from "../../src/sandbox/types";
import type { RetentionRunResult } from "../../src/workflows/retention";
import { createSessionWithFiles, requestId, sampleFiles, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";
import { INNGEST_STEP_CAP, runModelled } from "./executor";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  setWorkflowDeps(undefined);
  await rt?.close();
  rt = undefined;
});

const DAY = 86_400_000;
const options = (fn: unknown) => (fn as { opts: Record<string, unknown> }).opts;
const sessionFunctions = functions.filter((f) => options(f).idempotency !== undefined);

describe("Inngest function options", () => {
  it("every session workflow shares one concurrency key per session, scoped to the environment", () => {
    expect(sessionFunctions.map((f) => options(f).id).sort()).toEqual(
      ["archive-session", "delete-session", "flush-session", "hibernate-session", "restore-session", "resume-session", "snapshot-session"],
    );
    for (const fn of sessionFunctions) {
      const concurrency = options(fn).concurrency as { limit: number; key: string; scope: string }[];
      // One object for all: the same key expression, limit 1, scope env (a function-scoped key
      // would give each function its own queue, and a hibernate and a resume would interleave).
      expect(concurrency).toBe(SESSION_CONCURRENCY);
      expect(concurrency).toEqual([{ limit: 1, key: '"torpor-session:" + event.data.sessionId', scope: "env" }]);
      expect(options(fn).onFailure).toEqual(expect.any(Function));
    }
    expect(options(idleSweepFunction).concurrency).toEqual({ limit: 1 });
    expect(options(cancelledFunction)).toMatchObject({
      triggers: [{ event: "inngest/function.cancelled", if: "event.data.function_id.startsWith('torpor-')" }],
    });
  });
});

describe("Inngest runs, modelled", () => {
  it("queues a resume behind a hibernate of the same session instead of failing on LEASE_HELD", async () => {
    // The hibernate's pause waits for a gate, so the hibernate holds the lease when the resume comes.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let pausing!: () => void;
    const pauseReached = new Promise<void>((resolve) => (pausing = resolve));
    const gatedPause = (provider: SandboxProvider): SandboxProvider =>
      new Proxy(provider, {
        get(target, key, receiver) {
          if (key !== "pause") return Reflect.get(target, key, receiver);
          return async (id: string) => {
            pausing();
            await gate;
            return target.pause(id);
          };
        },
      });
    rt = await startWorkflowRuntime({ wrapSandboxes: gatedPause });
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const session = await createSessionWithFiles(runtime, sampleFiles("queue"));
    const hibernate = runModelled(hibernateFunction, { name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } }, { retries: 4 });
    await pauseReached;
    expect((await runtime.store.getSession(session.id)).lease?.operation).toBe("hibernate");

    const sleeps: string[] = [];
    const resume = await runModelled(
      resumeFunction,
      { name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId() } },
      {
        retries: 6,
        onSleep: async (name) => {
          sleeps.push(name);
          // While the resume sleeps, the hibernate finishes and releases the lease.
          openGate();
          await hibernate;
        },
      },
    );
    expect((await hibernate).result).toMatchObject({ status: "paused" });
    expect(resume.error).toBeUndefined();
    expect(resume.result).toMatchObject({ rung: "connected" });
    expect(sleeps).toEqual(["Wait for the session's lease: Take the lease (1)"]);
    expect(resume.steps.filter((s) => s.failed)).toEqual([]);
    expect(resume.steps.map((s) => s.name)).toContain("Take the lease (after waiting 1)");
    expect(await runtime.store.getSession(session.id)).toMatchObject({ state: "running", lease: null });
  });

  it("records a step that fails for good as failed, with its code, and still runs the clean-up", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const session = await createSessionWithFiles(runtime, sampleFiles("failed-step"));
    const run = await runModelled(
      restoreFunction,
      { name: "torpor/session.restore.requested", data: { sessionId: session.id, checkpointId: "cp_doesnotexist0000000000", requestId: requestId() } },
      { retries: 3 },
    );
    const failed = run.steps.filter((s) => s.failed);
    expect(failed.map((s) => s.name)).toEqual(["Check the chosen checkpoint"]);
    expect(failed[0]!.error).toMatchObject({ name: "NonRetriableError", message: expect.stringMatching(/No committed checkpoint/) });
    expect(failed[0]!.error?.cause).toMatchObject({ name: "TorporError:NOT_FOUND" });
    // Clean-up after the failed step, then the failure recorded; the run ends for good.
    const names = run.steps.map((s) => s.name);
    expect(names.slice(names.indexOf("Check the chosen checkpoint") + 1)).toEqual([
      "Return the session to a resting state after a failure",
      "Record the failure",
    ]);
    expect(run.error).toMatchObject({ name: "NonRetriableError", cause: { name: "TorporError:NOT_FOUND" } });
    expect(await runtime.store.getSession(session.id)).toMatchObject({ state: "running", sandboxId: session.sandboxId, lease: null });
    expect(await runtime.store.listRuns({ sessionId: session.id })).toMatchObject([{ status: "failed", error: expect.stringMatching(/No committed checkpoint/) }]);
  });

  it("onFailure settles a session a failed run left hibernating, and marks the run failed", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const session = await createSessionWithFiles(runtime, sampleFiles("on-failure"));
    // What a hibernate killed by the platform after its first steps leaves behind.
    const row = await runtime.store.createRun({ workflow: "hibernate-session", sessionId: session.id, input: {}, externalId: "01INNGESTRUN" });
    await runtime.store.acquireLease(session.id, { holder: row.id, operation: "hibernate", ttlMs: 600_000, now: Date.now() });
    await runtime.store.transition(session.id, "hibernate.start", { holder: row.id, now: Date.now() });
    expect((await runtime.store.getSession(session.id)).state).toBe("hibernating");

    const original = { name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } };
    const run = await runModelled(
      hibernateFunction,
      {
        name: "inngest/function.failed",
        data: { function_id: "torpor-hibernate-session", run_id: "01INNGESTRUN", error: { name: "Error", message: "FUNCTION_TIMED_OUT" }, event: original },
      },
      { handler: "failure" },
    );
    expect(run.error).toBeUndefined();
    expect(run.result).toMatchObject({ runId: row.id, state: "running", note: "applied hibernate.aborted" });
    const after = await runtime.store.getSession(session.id);
    expect(after).toMatchObject({ state: "running", lease: null, sandboxId: session.sandboxId });
    expect(after.lastError).toMatch(/hibernate-session failed: FUNCTION_TIMED_OUT/);
    expect(await runtime.store.getRun(row.id)).toMatchObject({ status: "failed", error: "FUNCTION_TIMED_OUT" });
  });

  it("a cancelled resume leaves its session at rest (paused) and its run cancelled", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const session = await createSessionWithFiles(runtime, sampleFiles("cancelled"));
    await runtime.sandboxes.pause(session.sandboxId!);
    await runtime.store.acquireLease(session.id, { holder: "setup", operation: "hibernate", ttlMs: 60_000, now: Date.now() });
    await runtime.store.transition(session.id, "hibernate.start", { holder: "setup", now: Date.now() });
    await runtime.store.transition(session.id, "hibernate.paused", { holder: "setup", now: Date.now() });
    await runtime.store.releaseLease(session.id, "setup");
    // A resume cancelled from the dashboard after it took the lease.
    const row = await runtime.store.createRun({ workflow: "resume-session", sessionId: session.id, input: {}, externalId: "01CANCELLED" });
    await runtime.store.acquireLease(session.id, { holder: row.id, operation: "resume", ttlMs: 600_000, now: Date.now() });
    await runtime.store.transition(session.id, "resume.start", { holder: row.id, now: Date.now() });
    expect((await runtime.store.getSession(session.id)).state).toBe("resuming");

    const run = await runModelled(cancelledFunction, { name: "inngest/function.cancelled", data: { function_id: "torpor-resume-session", run_id: "01CANCELLED" } });
    expect(run.error).toBeUndefined();
    expect(await runtime.store.getSession(session.id)).toMatchObject({ state: "paused", lease: null });
    expect(await runtime.store.getRun(row.id)).toMatchObject({ status: "cancelled" });
  });

  it("retention over 2,000 sessions with expired checkpoints stays far below the step cap", { timeout: 120_000 }, async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const now = Date.now();
    const sessions = 2000;
    for (let i = 0; i < sessions; i++) {
      const s = await runtime.store.createSession({
        ownerId: "alice", provider: "local", template: "base", idleTimeoutMs: 60_000, retention: { keepLast: 1, keepDailyDays: 0 }, now: now - 20 * DAY,
      });
      // Two committed checkpoints: the older fell out of "last 1" nine days ago, past its warning.
      for (const [n, age] of [[0, 10], [1, 9]] as const) {
        const id = `cp_${String(i).padStart(5, "0")}${n}${"0".repeat(18)}`;
        await runtime.store.createCheckpoint({ id, sessionId: s.id, parentId: null, kind: "hibernate", now: now - age * DAY });
        await runtime.store.commitCheckpoint(id, { files: 1, bytes: 1, uploadedBytes: 1 }, now - age * DAY);
      }
      await runtime.store.updateSession(s.id, { latestCheckpointId: `cp_${String(i).padStart(5, "0")}1${"0".repeat(18)}` });
    }
    const run = await runModelled(retentionFunction, { name: "inngest/scheduled.timer", data: { cron: "17 * * * *" } }, { maxRequests: INNGEST_STEP_CAP + 10 });
    expect(run.error).toBeUndefined();
    const result = run.result as RetentionRunResult;
    expect(result.pruned).toHaveLength(sessions);
    expect(result.retention).toMatchObject({ sessions, done: true });
    // 100 sessions a part (a store may answer one more, empty page at the end).
    expect([20, 21]).toContain(result.retention.parts);
    // The parts, plus a few fixed steps (record the run, gc, history batches, record the outcome);
    // the run used to take one step per expired checkpoint (2,001 here: past the cap).
    expect(run.steps.filter((s) => s.name.startsWith("Apply retention, part ")).length).toBe(result.retention.parts);
    expect(run.steps.length).toBeLessThan(40);
    expect(run.steps.length).toBeLessThan(INNGEST_STEP_CAP);
  });
});
