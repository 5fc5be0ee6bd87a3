/**
 * No empty checkpoints (issue 15): a hibernate with nothing changed since the session's latest
 * checkpoint commits none and pauses on that one; the archive and the restore then rely on it.
 * A change (here one file, through no API, so no change row) makes a real checkpoint again.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HibernateResult } from "../../src/workflows/hibernate";
import {
  createSessionWithFiles,
  fingerprint,
  lostFiles,
  requestId,
  runWorkflow,
  sampleFiles,
  sandboxFingerprint,
  startWorkflowRuntime,
  type WorkflowRuntime,
} from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe("a hibernate with no change", () => {
  it("commits no new checkpoint and reuses the latest one", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_ARCHIVE_AFTER_MS: "0" } });
    const { runtime } = rt;
    const files = sampleFiles("still");
    const session = await createSessionWithFiles(runtime, files);
    // Files older than any checkpoint's read: no racy-stat doubt.
    await runtime.sandboxes.exec(session.sandboxId!, "find . -type f -exec touch -d '2020-01-01 00:00:00' {} +", { timeoutMs: 10_000 });
    const hibernate = async () => {
      const run = await runWorkflow(rt!, { name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "test", requestId: requestId() } });
      expect(run.status, run.error ?? "").toBe("completed");
      return JSON.parse(run.result!) as HibernateResult;
    };
    const resume = async () => {
      const run = await runWorkflow(rt!, { name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "test", requestId: requestId() } });
      expect(run.status, run.error ?? "").toBe("completed");
    };

    const first = await hibernate();
    expect(first.status).toBe("paused");
    await resume();
    const second = await hibernate();
    expect(second).toMatchObject({ status: "paused", checkpointId: first.checkpointId });
    expect(second.reason).toMatch(/nothing changed since checkpoint/);
    expect((await runtime.store.listCheckpoints(session.id)).map((c) => c.id)).toEqual([first.checkpointId]);

    // The reused checkpoint is what the archive keeps and the restore brings back.
    const archive = await runWorkflow(rt, { name: "torpor/session.archive.requested", data: { sessionId: session.id, reason: "test", requestId: requestId() } });
    expect(archive.status, archive.error ?? "").toBe("completed");
    expect((await runtime.store.getSession(session.id)).state).toBe("archived");
    await resume();
    const restored = await runtime.store.getSession(session.id);
    expect(lostFiles(fingerprint(files), await sandboxFingerprint(runtime.sandboxes, restored.sandboxId!))).toEqual([]);

    // A write of the sandbox's own (no change row) is a change: a real checkpoint again.
    await runtime.sandboxes.exec(restored.sandboxId!, "echo more > notes/more.txt", { timeoutMs: 10_000 });
    const third = await hibernate();
    expect(third.status).toBe("paused");
    expect(third.checkpointId).not.toBe(first.checkpointId);
    expect(await runtime.store.listCheckpoints(session.id)).toHaveLength(2);
  }, 90_000);
});
