/**
 * The Inngest functions, run with @inngest/test against real components (SQLite, embedded S3,
 * local sandboxes): every workflow to completion, a step that fails once and succeeds on retry
 * (the retry is an execution that replays the memoized steps, as Inngest does), a non-retriable
 * failure, the run id a workflow gets (the store row's, where its lease and progress go), and the
 * function options (retries, concurrency per session, idempotency).
 *
 * @inngest/test caveats (STACK-NOTES): it does not model retries and turns a throwing MOCKED step
 * into undefined, so failures here come from the real dependencies, never from mocks.
 */
import { InngestTestEngine } from "@inngest/test";
import { afterEach, describe, expect, it } from "vitest";
import {
  archiveFunction,
  deleteFunction,
  flushFunction,
  functions,
  hibernateFunction,
  idleSweepFunction,
  restoreFunction,
  resumeFunction,
  retentionFunction,
  setWorkflowDeps,
  snapshotFunction,
} from "../../inngest";
import { SandboxError } from "../../src/core/errors";
import type { RunProgress } from "../../src/core/types";
import type { SandboxProvider } from "../../src/sandbox/types";
import type { StateStore } from "../../src/store/types";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  sandboxFingerprint,
  startWorkflowRuntime,
  type WorkflowRuntime,
} from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  setWorkflowDeps(undefined);
  await rt?.close();
  rt = undefined;
});

type Fn = ConstructorParameters<typeof InngestTestEngine>[0]["function"];

async function execute(fn: Fn, event?: TorporEvent, steps?: InngestTestEngine.MockedStep[]) {
  const t = new InngestTestEngine({ function: fn });
  const events = event ? ([{ name: event.name, data: event.data }] as [{ name: string; data: Record<string, unknown> }]) : undefined;
  const out = await t.execute({ events, steps });
  return { ...out, error: (out as unknown as { error?: Error }).error };
}

/** The steps an execution finished, as mocks for the next execution: Inngest's memoized state. */
async function memoized(state: Record<string, Promise<unknown>>): Promise<InngestTestEngine.MockedStep[]> {
  const steps: InngestTestEngine.MockedStep[] = [];
  for (const [id, value] of Object.entries(state)) {
    const result = await value.then((v) => ({ ok: true as const, v }), () => ({ ok: false as const }));
    if (result.ok) steps.push({ id, idIsHashed: true, handler: () => result.v });
  }
  return steps;
}

const ev = {
  hibernate: (sessionId: string): TorporEvent => ({ name: "torpor/session.hibernate.requested", data: { sessionId, reason: "idle", requestId: requestId() } }),
  resume: (sessionId: string): TorporEvent => ({ name: "torpor/session.resume.requested", data: { sessionId, reason: "open", requestId: requestId() } }),
};

describe("Inngest functions", () => {
  it("run every workflow to completion", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_ARCHIVE_AFTER_MS: "0" } });
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const files = sampleFiles("inngest");
    const session = await createSessionWithFiles(runtime, files, { idleTimeoutMs: 1000, createdAt: Date.now() - 60_000 });
    const state = async () => (await runtime.store.getSession(session.id)).state;

    // Sending is Inngest's own work (it needs an event key): the send step is mocked to succeed.
    const sweep = await execute(idleSweepFunction, undefined, [{ id: `Request hibernation for ${session.id}`, handler: () => ({ ids: [] }) }]);
    expect(sweep.result).toMatchObject({ hibernate: [{ sessionId: session.id }] });
    expect(sweep.ctx.step.sendEvent).toHaveBeenCalledWith(
      `Request hibernation for ${session.id}`,
      expect.objectContaining({ name: "torpor/session.hibernate.requested", data: expect.objectContaining({ sessionId: session.id }) }),
    );

    const hibernated = await execute(hibernateFunction, ev.hibernate(session.id));
    expect(hibernated.result).toMatchObject({ status: "paused" });
    expect(await state()).toBe("paused");
    // The run is recorded for the dashboard, linked to Inngest's run id.
    const [row] = await runtime.store.listRuns({ sessionId: session.id, workflow: "hibernate-session" });
    expect(row).toMatchObject({ status: "completed", externalId: expect.stringMatching(/./) });
    expect(JSON.parse(row!.result!)).toMatchObject({ status: "paused" });
    expect((await execute(resumeFunction, ev.resume(session.id))).result).toMatchObject({ rung: "connected" });

    const snap = await execute(snapshotFunction, { name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: "mark", requestId: requestId() } });
    expect(snap.result).toMatchObject({ status: "committed" });
    const checkpointId = (snap.result as { checkpointId: string }).checkpointId;
    await runtime.sandboxes.writeFile((await runtime.store.getSession(session.id)).sandboxId!, "later.txt", "after the mark");

    const restore = await execute(restoreFunction, { name: "torpor/session.restore.requested", data: { sessionId: session.id, checkpointId, requestId: requestId() } });
    expect(restore.result).toMatchObject({ status: "restored", checkpointId });
    const restoredSandbox = (await runtime.store.getSession(session.id)).sandboxId!;
    expect(await sandboxFingerprint(runtime.sandboxes, restoredSandbox)).toEqual(fingerprint(files));

    await execute(hibernateFunction, ev.hibernate(session.id));
    const archive = await execute(archiveFunction, { name: "torpor/session.archive.requested", data: { sessionId: session.id, reason: "old", requestId: requestId() } });
    expect(archive.result).toMatchObject({ status: "archived" });
    expect(await state()).toBe("archived");
    expect((await execute(resumeFunction, ev.resume(session.id))).result).toMatchObject({ rung: "restored" });

    const retention = await execute(retentionFunction);
    expect(retention.result).toMatchObject({ pruned: [], gc: { deletedObjects: expect.any(Number) } });

    const del = await execute(deleteFunction, { name: "torpor/session.delete.requested", data: { sessionId: session.id, requestId: requestId() } });
    expect(del.result).toMatchObject({ status: "deleted" });
    expect(await state()).toBe("deleted");
  });

  it("retries a failing step: the retry replays the finished steps and completes", async () => {
    // The local sandbox is paused twice: frozen before the checkpoint, then paused for good. The
    // second call fails once: the failure comes after the checkpoint is committed.
    let calls = 0;
    const flakyPause = (provider: SandboxProvider): SandboxProvider =>
      new Proxy(provider, {
        get(target, key, receiver) {
          if (key !== "pause") return Reflect.get(target, key, receiver);
          return async (id: string) => {
            if (++calls === 2) throw new SandboxError("TIMEOUT", "pause timed out");
            return target.pause(id);
          };
        },
      });
    rt = await startWorkflowRuntime({ wrapSandboxes: flakyPause });
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const session = await createSessionWithFiles(runtime, sampleFiles("retry"));
    const event = ev.hibernate(session.id);

    const first = await execute(hibernateFunction, event);
    expect(first.error?.message).toMatch(/pause timed out/);
    expect(first.error?.name).not.toBe("NonRetriableError");
    // Between attempts the run holds the session, half way: checkpoint committed, not paused yet.
    const between = await runtime.store.getSession(session.id);
    expect(between.state).toBe("hibernating");
    expect(between.latestCheckpointId).not.toBeNull();

    const retry = await execute(hibernateFunction, event, await memoized(first.state));
    expect(retry.error).toBeUndefined();
    expect(retry.result).toMatchObject({ status: "paused", checkpointId: between.latestCheckpointId });
    const after = await runtime.store.getSession(session.id);
    expect(after).toMatchObject({ state: "paused", lease: null });
    // The checkpoint step was not run again: still one checkpoint, and one run row.
    expect(await runtime.store.listCheckpoints(session.id)).toHaveLength(1);
    expect(await runtime.store.listRuns({ sessionId: session.id })).toMatchObject([{ status: "completed" }]);
  });

  it("fails a step that retrying cannot fix inside the step, as NonRetriableError carrying the code", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const session = await createSessionWithFiles(runtime, sampleFiles("nr"));
    const out = await execute(restoreFunction, {
      name: "torpor/session.restore.requested",
      data: { sessionId: session.id, checkpointId: "cp_doesnotexist0000000000", requestId: requestId() },
    });
    // @inngest/test stops at the failed step (Inngest then calls the function again with the
    // step's error memoized: the clean-up that follows is tested in semantics.test.ts).
    expect(out.error?.name).toBe("NonRetriableError");
    expect(out.error?.message).toMatch(/No committed checkpoint/);
    expect((out.error as { cause?: { name?: string } }).cause?.name).toBe("TorporError:NOT_FOUND");
  });

  it("hand the workflow the store's run id, so its lease and its progress are on the dashboard's row", async () => {
    const progressRuns: string[] = [];
    const holders: string[] = [];
    rt = await startWorkflowRuntime({
      wrapStore: (base) =>
        Object.assign(Object.create(base) as StateStore, {
          setRunProgress: (runId: string, progress: RunProgress | null) => (progressRuns.push(runId), base.setRunProgress(runId, progress)),
          acquireLease: (sessionId: string, request: Parameters<StateStore["acquireLease"]>[1]) =>
            (holders.push(request.holder), base.acquireLease(sessionId, request)),
        }),
    });
    const { runtime } = rt;
    setWorkflowDeps(runtime.deps);
    const session = await createSessionWithFiles(runtime, sampleFiles("inngest-progress"));
    const snap = await execute(snapshotFunction, { name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
    expect(snap.result).toMatchObject({ status: "committed" });
    const [row] = await runtime.store.listRuns({ sessionId: session.id, workflow: "snapshot-session" });
    expect(row?.externalId).not.toBe(row?.id);
    expect(holders).toEqual([row!.id]);
    expect(progressRuns.length).toBeGreaterThan(0);
    expect(new Set(progressRuns)).toEqual(new Set([row!.id]));
    expect(row?.progress).toBeNull();
  });

  it("declare retries, a concurrency limit of 1 per session across functions and idempotency on the request id", () => {
    const options = (fn: unknown) => (fn as { opts: Record<string, unknown> }).opts;
    expect(functions.map((f) => options(f).id)).toEqual([
      "idle-sweep", "hibernate-session", "archive-session", "resume-session", "snapshot-session", "restore-session", "delete-session", "retention",
      "flush-session", "settle-cancelled-run",
    ]);
    for (const fn of [hibernateFunction, archiveFunction, resumeFunction, snapshotFunction, restoreFunction, deleteFunction, flushFunction]) {
      expect(options(fn)).toMatchObject({
        // Shared by every session function (tests/inngest/semantics.test.ts says why).
        concurrency: [{ limit: 1, key: '"torpor-session:" + event.data.sessionId', scope: "env" }],
        idempotency: "event.data.requestId",
        retries: expect.any(Number),
      });
    }
    expect(options(idleSweepFunction)).toMatchObject({ triggers: [{ cron: "* * * * *" }], concurrency: { limit: 1 } });
  });
});
