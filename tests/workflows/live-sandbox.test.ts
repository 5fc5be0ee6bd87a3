/**
 * A live sandbox: its own processes write while it is hibernated and archived. Every file the
 * paused sandbox held must come back from the checkpoint the archive kept (invariant 1), whatever
 * the change rows say (no file here goes through the API, so there are none).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SandboxProvider } from "../../src/sandbox/types";
import type { ArchiveResult } from "../../src/workflows/archive";
import type { ResumeResult } from "../../src/workflows/resume";
import {
  lostFiles,
  requestId,
  runWorkflow,
  sandboxFingerprint,
  startWorkflowRuntime,
  waitUntil,
  type WorkflowRuntime,
} from "../helpers/runtime";
import { liveSession } from "../fault/live-session";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

/** A file every 20 ms, as a build or an agent's loop would. */
export const WRITER = "i=0; while true; do i=$((i+1)); echo $i > f$i; sleep 0.02; done";

describe("a sandbox whose processes keep writing", () => {
  it("loses no file between the hibernate's checkpoint and the archive's kill", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const { info, session, run } = await liveSession(rt, 0, WRITER);
    await run("hibernate");
    expect(await runtime.sandboxes.status(info.id)).toBe("paused");
    // What the paused sandbox holds is what the archive must keep.
    const paused = await sandboxFingerprint(runtime.sandboxes, info.id);
    expect(Object.keys(paused).length).toBeGreaterThan(10);

    expect(((await run("archive")) as unknown as ArchiveResult).status).toBe("archived");
    expect(((await run("resume")) as unknown as ResumeResult).rung).toBe("restored");
    const back = await runtime.store.getSession(session.id);
    const restored = await sandboxFingerprint(runtime.sandboxes, back.sandboxId!);
    const lost = lostFiles(paused, restored);
    console.log(`live sandbox: the paused sandbox held ${Object.keys(paused).length} files, ${lost.length} lost`);
    expect(lost).toEqual([]);
  }, 60_000);

  it("a sandbox that cannot be frozen is not killed while it still writes, and is archived whole once it stops", async () => {
    // Like E2B seen from the archive: the sandbox's processes run on while Torpor reads it.
    const unfreezable = (inner: SandboxProvider): SandboxProvider =>
      Object.assign(Object.create(inner) as SandboxProvider, { readsWhilePaused: false, pause: async () => undefined });
    rt = await startWorkflowRuntime({ wrapSandboxes: unfreezable });
    const { runtime } = rt;
    const { info, session } = await liveSession(rt, 0, "i=0; while [ ! -e stop ]; do i=$((i+1)); echo $i > f$i; sleep 0.02; done; sleep 600");
    const archive = async () => {
      const run = await runWorkflow(rt!, {
        name: "torpor/session.archive.requested",
        data: { sessionId: session.id, reason: "test: archive", requestId: requestId() },
      });
      expect(run.status, run.error ?? "").toBe("completed");
      return JSON.parse(run.result!) as ArchiveResult;
    };
    const hibernate = await runWorkflow(rt, {
      name: "torpor/session.hibernate.requested",
      data: { sessionId: session.id, reason: "test: live", requestId: requestId() },
    });
    expect(hibernate.status, hibernate.error ?? "").toBe("completed");
    const refused = await archive();
    expect(refused.status).toBe("aborted");
    expect(refused.reason).toMatch(/the sandbox changed after its last checkpoint \(\d+ entr/);
    expect(await runtime.sandboxes.status(info.id)).not.toBe("gone");
    expect((await runtime.store.getSession(session.id)).state).toBe("paused");

    await runtime.sandboxes.writeFile(info.id, "stop", "");
    const count = async () => (await runtime.sandboxes.scan(info.id)).length;
    // Stopped: two scans 200 ms apart see the same entries.
    let last = -1;
    await waitUntil("the writer to stop", async () => [last, (last = await count())], ([a, b]) => a === b, { everyMs: 200 });
    const held = await sandboxFingerprint(runtime.sandboxes, info.id);
    const done = await archive();
    expect(done.status).toBe("archived");
    expect(done.finalCheckpoint).toBe(true);
    const resume = await runWorkflow(rt, {
      name: "torpor/session.resume.requested",
      data: { sessionId: session.id, reason: "test: back", requestId: requestId() },
    });
    expect(resume.status, resume.error ?? "").toBe("completed");
    const back = await runtime.store.getSession(session.id);
    expect(lostFiles(held, await sandboxFingerprint(runtime.sandboxes, back.sandboxId!))).toEqual([]);
  }, 60_000);
});
