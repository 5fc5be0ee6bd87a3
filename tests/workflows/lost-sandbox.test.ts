/**
 * A provider that loses a sandbox at an awkward moment: a running session's sandbox vanishes
 * before hibernation, a paused one with unsaved changes vanishes before archiving. Either way the
 * session ends archived with a clear message, and resume restores its latest checkpoint.
 */
import { afterEach, describe, expect, it } from "vitest";
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

describe("a lost sandbox", () => {
  it("before hibernation: the run fails clearly, the session is archived, resume restores the last checkpoint", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const files = sampleFiles("gone-running");
    const session = await createSessionWithFiles(runtime, files);
    const snap = await run({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
    expect(snap.status).toBe("completed");
    await runtime.sandboxes.kill(session.sandboxId!);

    const hibernated = await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    expect(hibernated.status).toBe("failed");
    expect(hibernated.error).toMatch(/gone/);
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "archived", sandboxId: null, lease: null });
    expect(s.lastError).toMatch(/The provider lost sandbox .* 0 file change\(s\) after the last checkpoint could not be saved/);

    const resumed = await run({ name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId() } });
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(result.rung).toBe("restored");
    expect(await sandboxFingerprint(runtime.sandboxes, result.sandboxId!)).toEqual(fingerprint(files));
  });

  it("before archiving with unsaved changes: archived with the count of changes it could not save", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const files = sampleFiles("gone-paused");
    const session = await createSessionWithFiles(runtime, files);
    await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    // A change reported after the checkpoint (it slipped in before the pause), then the loss.
    await runtime.store.recordChanges(session.id, [{ path: "late.txt", operation: "write" }]);
    await runtime.sandboxes.kill(session.sandboxId!);

    const archived = await run({ name: "torpor/session.archive.requested", data: { sessionId: session.id, reason: "old", requestId: requestId() } });
    expect(archived.status).toBe("completed");
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "archived", sandboxId: null, lease: null });
    expect(s.lastError).toMatch(/1 file change\(s\) after the last checkpoint could not be saved/);

    const resumed = await run({ name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId() } });
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(result.rung).toBe("restored");
    expect(await sandboxFingerprint(runtime.sandboxes, result.sandboxId!)).toEqual(fingerprint(files));
    // The report of what the lost sandbox took with it stays visible after the restore.
    expect((await runtime.store.getSession(session.id)).lastError).toMatch(/1 file change\(s\) after the last checkpoint could not be saved/);
  });

  it("while running: resume notices, records the loss and restores the latest checkpoint", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const files = sampleFiles("gone-while-running");
    const session = await createSessionWithFiles(runtime, files);
    await run({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
    await runtime.sandboxes.kill(session.sandboxId!);
    const resumed = await run({ name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId() } });
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(result.rung).toBe("restored");
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "running", sandboxId: result.sandboxId, lease: null });
    expect(await sandboxFingerprint(runtime.sandboxes, result.sandboxId!)).toEqual(fingerprint(files));
  });
});
