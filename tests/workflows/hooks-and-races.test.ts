/**
 * Hooks (before-checkpoint, after-resume; a failing hook is reported and loses nothing), activity
 * during hibernation (activity wins), manual snapshot and restore to an earlier checkpoint.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SandboxProvider } from "../../src/sandbox/types";
import type { HibernateResult } from "../../src/workflows/hibernate";
import type { RestoreToCheckpointResult } from "../../src/workflows/restore-to-checkpoint";
import type { ResumeResult } from "../../src/workflows/resume";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  sandboxFingerprint,
  startWorkflowRuntime,
  type WorkflowRuntime,
  runWorkflow,
} from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

const run = (event: TorporEvent) => runWorkflow(rt!, event);

/** A provider whose exec calls `onExec` first: lets a test act in the middle of a workflow. */
function withExecHook(provider: SandboxProvider, onExec: (command: string) => Promise<void>): SandboxProvider {
  return new Proxy(provider, {
    get(target, key, receiver) {
      if (key === "exec") {
        return async (...args: Parameters<SandboxProvider["exec"]>) => {
          await onExec(args[1]);
          return target.exec(...args);
        };
      }
      return Reflect.get(target, key, receiver);
    },
  });
}

describe("hooks", () => {
  it("runs before-checkpoint hooks as steps; a failing hook is reported and the files are kept", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const files = sampleFiles("hooks");
    const session = await createSessionWithFiles(runtime, files, {
      hooks: { beforeCheckpoint: ["echo saved > hook-output.txt", "exit 3"], afterResume: ["echo up > resumed.txt"] },
    });
    const hibernated = await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    expect(hibernated.status).toBe("completed");
    const result = JSON.parse(hibernated.result!) as HibernateResult;
    expect(result.status).toBe("paused");
    expect(result.hooks.map((h) => h.ok)).toEqual([true, false]);
    expect(result.hooks[1]!.error).toMatch(/exited with 3/);
    const failedHook = hibernated.steps.find((s) => s.name === "Run before-checkpoint hook 2");
    expect(failedHook?.status).toBe("failed");
    expect(failedHook?.attempts).toBe(5); // 1 + 4 retries

    // The first hook's output is part of the checkpoint; all files survive a restore.
    await runtime.sandboxes.kill(session.sandboxId!);
    const resumed = await run({ name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId() } });
    const r = JSON.parse(resumed.result!) as ResumeResult;
    expect(r.rung).toBe("restored");
    expect(r.hooks).toMatchObject([{ phase: "after-resume", ok: true }]);
    const now = await sandboxFingerprint(runtime.sandboxes, r.sandboxId!);
    expect(now).toMatchObject(fingerprint(files));
    expect((await runtime.sandboxes.readFile(r.sandboxId!, "hook-output.txt")).toString()).toBe("saved\n");
    expect((await runtime.sandboxes.readFile(r.sandboxId!, "resumed.txt")).toString()).toBe("up\n");
  });
});

describe("activity during hibernation", () => {
  it("aborts before the pause when activity arrives during the checkpoint: the session stays running", async () => {
    let sessionId = "";
    rt = await startWorkflowRuntime({
      wrapSandboxes: (p) =>
        withExecHook(p, async (command) => {
          if (command === "true") await rt!.runtime.store.recordActivity(sessionId, { at: Date.now() + 1000, kind: "ping", coalesceMs: 0 });
        }),
    });
    const { runtime } = rt;
    const session = await createSessionWithFiles(runtime, sampleFiles("race"), { hooks: { beforeCheckpoint: ["true"] } });
    sessionId = session.id;
    const hibernated = await run({ name: "torpor/session.hibernate.requested", data: { sessionId, reason: "idle", requestId: requestId() } });
    const result = JSON.parse(hibernated.result!) as HibernateResult;
    expect(result.status).toBe("aborted");
    expect(result.reason).toMatch(/ping activity/);
    const s = await runtime.store.getSession(sessionId);
    expect(s.state).toBe("running");
    expect(s.lease).toBeNull();
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("running");
    // The checkpoint taken before the abort is committed and usable.
    expect((await runtime.store.getCheckpoint(s.latestCheckpointId!))?.status).toBe("committed");
  });
});

describe("manual snapshot and restore to a checkpoint", () => {
  it("restores an earlier checkpoint into a new sandbox after a safety checkpoint of the current files", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const v1 = sampleFiles("v1");
    const session = await createSessionWithFiles(runtime, v1);
    const snap = await run({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: "v1", requestId: requestId() } });
    expect(snap.status).toBe("completed");
    const first = JSON.parse(snap.result!) as { checkpointId: string };
    const cp1 = await runtime.store.getCheckpoint(first.checkpointId);
    expect(cp1).toMatchObject({ status: "committed", label: "v1", kind: "manual" });

    await runtime.sandboxes.writeFile(session.sandboxId!, "README.md", "# changed after v1\n");
    await runtime.sandboxes.writeFile(session.sandboxId!, "new-file.txt", "only in v2\n");
    const v2 = await sandboxFingerprint(runtime.sandboxes, session.sandboxId!);

    const restored = await run({
      name: "torpor/session.restore.requested",
      data: { sessionId: session.id, checkpointId: first.checkpointId, requestId: requestId() },
    });
    expect(restored.status).toBe("completed");
    const result = JSON.parse(restored.result!) as RestoreToCheckpointResult;
    expect(result.status).toBe("restored");
    const s = await runtime.store.getSession(session.id);
    expect(s.state).toBe("running");
    expect(s.sandboxId).toBe(result.sandboxId);
    expect(await sandboxFingerprint(runtime.sandboxes, s.sandboxId!)).toEqual(fingerprint(v1));
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("gone");

    // The files from before the restore are in the safety checkpoint.
    const safety = await runtime.store.getCheckpoint(result.safetyCheckpointId!);
    expect(safety?.status).toBe("committed");
    const back = await run({
      name: "torpor/session.restore.requested",
      data: { sessionId: session.id, checkpointId: result.safetyCheckpointId!, requestId: requestId() },
    });
    const again = JSON.parse(back.result!) as RestoreToCheckpointResult;
    expect(await sandboxFingerprint(runtime.sandboxes, again.sandboxId!)).toEqual(v2);
  });

  it("refuses a checkpoint of another session and leaves the session running on its sandbox", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const a = await createSessionWithFiles(runtime, sampleFiles("a"));
    const b = await createSessionWithFiles(runtime, sampleFiles("b"));
    const snap = await run({ name: "torpor/session.snapshot.requested", data: { sessionId: b.id, label: null, requestId: requestId() } });
    const foreign = (JSON.parse(snap.result!) as { checkpointId: string }).checkpointId;
    const refused = await run({ name: "torpor/session.restore.requested", data: { sessionId: a.id, checkpointId: foreign, requestId: requestId() } });
    expect(refused.status).toBe("failed");
    expect(refused.error).toMatch(/No committed checkpoint/);
    const s = await runtime.store.getSession(a.id);
    expect(s).toMatchObject({ state: "running", sandboxId: a.sandboxId, lease: null });
    expect(s.lastError).toMatch(/restore failed/);
  });
});
