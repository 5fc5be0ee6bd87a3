/**
 * The lifecycle workflows end to end on the embedded engine with real components (SQLite file,
 * embedded S3, local sandboxes): hibernate → resume (connected), the fallback ladder (restored,
 * fresh), archive, the idle sweep with its recorded reason.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SandboxProvider } from "../../src/sandbox/types";
import type { ResumeResult } from "../../src/workflows/resume";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  sandboxFingerprint,
  startWorkflowRuntime,
  type WorkflowRuntime,
  waitUntil,
} from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

async function runEvent(name: Parameters<WorkflowRuntime["runtime"]["dispatcher"]["send"]>[0]) {
  const engine = rt!.runtime.engine!;
  const { ids } = await engine.send(name);
  expect(ids).toHaveLength(1);
  return engine.waitFor(ids[0]!);
}

describe("hibernate and resume", () => {
  it("checkpoints, pauses, and resumes by reconnecting to the paused sandbox", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const files = sampleFiles("h1");
    const session = await createSessionWithFiles(runtime, files);

    const run = await runEvent({
      name: "torpor/session.hibernate.requested",
      data: { sessionId: session.id, reason: "test: idle", requestId: requestId() },
    });
    expect(run.status).toBe("completed");
    expect(JSON.parse(run.result!)).toMatchObject({ status: "paused" });
    expect(run.steps.map((s) => s.name)).toEqual([
      "Take the lease",
      "Freeze the sandbox's processes",
      "Flush pending changes and take a checkpoint",
      "Commit the checkpoint",
      "Check for activity since the start",
      "Pause the sandbox",
      "Release the lease",
      "Check for activity during the pause",
    ]);
    const paused = await runtime.store.getSession(session.id);
    expect(paused.state).toBe("paused");
    expect(paused.lease).toBeNull();
    expect(paused.sleepReason?.detail).toBe("test: idle");
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("paused");
    const checkpoint = await runtime.store.getCheckpoint(paused.latestCheckpointId!);
    expect(checkpoint?.status).toBe("committed");
    expect(checkpoint?.files).toBe(Object.keys(files).length);

    const resumed = await runEvent({
      name: "torpor/session.resume.requested",
      data: { sessionId: session.id, reason: "editor opened", requestId: requestId() },
    });
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(result.rung).toBe("connected");
    const running = await runtime.store.getSession(session.id);
    expect(running.state).toBe("running");
    expect(running.sandboxId).toBe(session.sandboxId);
    expect(await sandboxFingerprint(runtime.sandboxes, running.sandboxId!)).toEqual(fingerprint(files));
  });

  it("restores the latest checkpoint into a new sandbox when the provider lost the paused one", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const files = sampleFiles("lost");
    const session = await createSessionWithFiles(runtime, files);
    await runEvent({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    await runtime.sandboxes.kill(session.sandboxId!); // the provider loses it

    const resumed = await runEvent({
      name: "torpor/session.resume.requested",
      data: { sessionId: session.id, reason: "editor opened", requestId: requestId() },
    });
    expect(resumed.status).toBe("completed");
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(result.rung).toBe("restored");
    expect(result.why).toMatch(/lost the sandbox/);
    const running = await runtime.store.getSession(session.id);
    expect(running.state).toBe("running");
    expect(running.sandboxId).not.toBe(session.sandboxId);
    expect(running.wakeReason?.detail).toMatch(/restored/);
    expect(await sandboxFingerprint(runtime.sandboxes, running.sandboxId!)).toEqual(fingerprint(files));
  });

  it("starts a fresh sandbox with a clear warning when there is no checkpoint", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const session = await createSessionWithFiles(runtime, { "a.txt": "a" });
    await runtime.sandboxes.kill(session.sandboxId!);
    // Simulate a session that lost its sandbox while running: the store marks it archived.
    await runtime.store.transition(session.id, "sandbox.lost");
    const resumed = await runEvent({
      name: "torpor/session.resume.requested",
      data: { sessionId: session.id, reason: "editor opened", requestId: requestId() },
    });
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(result.rung).toBe("fresh");
    expect(result.warnings[0]).toMatch(/No checkpoint exists/);
    expect((await runtime.store.getSession(session.id)).state).toBe("running");
  });

  it("archives a paused session after verifying its checkpoint, then restores it on resume", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const files = sampleFiles("arch");
    const session = await createSessionWithFiles(runtime, files);
    await runEvent({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    const archived = await runEvent({
      name: "torpor/session.archive.requested",
      data: { sessionId: session.id, reason: "paused too long", requestId: requestId() },
    });
    expect(archived.status).toBe("completed");
    const s = await runtime.store.getSession(session.id);
    expect(s.state).toBe("archived");
    expect(s.sandboxId).toBeNull();
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("gone");

    const resumed = await runEvent({ name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "back", requestId: requestId() } });
    expect((JSON.parse(resumed.result!) as ResumeResult).rung).toBe("restored");
    const running = await runtime.store.getSession(session.id);
    expect(await sandboxFingerprint(runtime.sandboxes, running.sandboxId!)).toEqual(fingerprint(files));
  });

  it("treats a second request with the same request id as a no-op", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const session = await createSessionWithFiles(runtime, sampleFiles("idem"));
    const event = { name: "torpor/session.hibernate.requested" as const, data: { sessionId: session.id, reason: "idle", requestId: "same-request" } };
    const first = await runtime.dispatcher.send(event);
    const second = await runtime.dispatcher.send(event);
    expect(second.ids).toEqual(first.ids);
    await runtime.engine!.idle();
    expect(await runtime.store.listRuns({ sessionId: session.id })).toHaveLength(1);
    expect(await runtime.store.listCheckpoints(session.id)).toHaveLength(1);
  });
});

describe("idle sweep", () => {
  it("requests hibernation for idle sessions with a recorded reason, and archiving for long-paused ones", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_ARCHIVE_AFTER_MS: "0" } });
    const { runtime } = rt;
    const idle = await createSessionWithFiles(runtime, sampleFiles("idle"), { idleTimeoutMs: 1000, createdAt: Date.now() - 10_000 });
    const busy = await createSessionWithFiles(runtime, sampleFiles("busy"), { idleTimeoutMs: 3_600_000 });
    const engine = runtime.engine!;
    const sweep = await engine.waitFor(await engine.tick("idle-sweep", Date.now()));
    expect(sweep.status).toBe("completed");
    const result = JSON.parse(sweep.result!) as { hibernate: { sessionId: string; reason: string }[] };
    expect(result.hibernate.map((h) => h.sessionId)).toEqual([idle.id]);
    expect(result.hibernate[0]!.reason).toMatch(/^idle for 1\ds \(timeout 1s\); last activity: api at /);
    await engine.idle();
    const s = await runtime.store.getSession(idle.id);
    expect(s.state).toBe("paused");
    expect(s.sleepReason?.detail).toBe(result.hibernate[0]!.reason);
    // The sweep's request carries its kind (no guessing from the reason's text).
    expect(s.sleepReason?.kind).toBe("idle");
    // The next sweep finds the paused session past the (zero) archive period and archives it.
    await engine.waitFor(await engine.tick("idle-sweep", Date.now() + 60_000));
    await engine.idle();
    expect((await runtime.store.getSession(idle.id)).state).toBe("archived");
    expect((await runtime.store.getSession(busy.id)).state).toBe("running");
  });
});

describe("schedules and providers without pause", () => {
  it("the configured sweep cron hibernates an idle session on its own", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_SWEEP_CRON: "* * * * * *" }, startCron: true });
    const { runtime } = rt;
    const session = await createSessionWithFiles(runtime, sampleFiles("cron"), { idleTimeoutMs: 1000 });
    const paused = await waitUntil("the sweep to hibernate the session", () => runtime.store.getSession(session.id), (s) => s.state === "paused");
    expect(paused.sleepReason?.detail).toMatch(/^idle for \d+s \(timeout 1s\)/);
    const sweeps = await runtime.store.listRuns({ workflow: "idle-sweep" });
    expect(sweeps.length).toBeGreaterThan(0);
  });

  it("archives at once when the provider cannot pause, and resume restores", async () => {
    const noPause = (p: SandboxProvider): SandboxProvider =>
      new Proxy(p, { get: (target, key, receiver) => (key === "supportsPause" ? false : Reflect.get(target, key, receiver)) });
    rt = await startWorkflowRuntime({ wrapSandboxes: noPause });
    const { runtime } = rt;
    const files = sampleFiles("nopause");
    const session = await createSessionWithFiles(runtime, files);
    const run = await runEvent({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    expect(JSON.parse(run.result!)).toMatchObject({ status: "archived" });
    expect(run.steps.map((s) => s.name)).toContain("Verify the latest checkpoint");
    expect(await runtime.store.getSession(session.id)).toMatchObject({ state: "archived", sandboxId: null, lease: null });
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("gone");
    const resumed = await runEvent({ name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId() } });
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(result.rung).toBe("restored");
    expect(await sandboxFingerprint(runtime.sandboxes, result.sandboxId!)).toEqual(fingerprint(files));
  });
});
