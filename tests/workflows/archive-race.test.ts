/**
 * Activity wins over archiving: a file change that lands after the archive's last checkpoint and
 * before the kill must keep the sandbox (invariant 1), and that is an expected outcome, not a
 * failed run. The change is injected at the kill step's checkpoint read, the last store read before
 * the kill, so the race is hit every time instead of by chance (the fault suite's random
 * interleavings found it).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { StateStore } from "../../src/store/types";
import type { ArchiveResult } from "../../src/workflows/archive";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  fingerprint,
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

const run = (event: TorporEvent) => runWorkflow(rt!, event);

describe("a change racing an archive", () => {
  it("keeps the sandbox and the session paused, and ends the run as aborted with the reason", async () => {
    let beforeKill: (() => Promise<void>) | null = null;
    rt = await startWorkflowRuntime({
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, key, receiver) {
            if (key === "getCheckpoint") {
              return async (...args: Parameters<StateStore["getCheckpoint"]>) => {
                const inject = beforeKill;
                beforeKill = null;
                if (inject) await inject();
                return target.getCheckpoint(...args);
              };
            }
            return Reflect.get(target, key, receiver);
          },
        }),
    });
    const { runtime } = rt;
    const files = sampleFiles("race");
    const session = await createSessionWithFiles(runtime, files);
    const sandboxId = session.sandboxId!;
    const hibernated = await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    expect(hibernated.status).toBe("completed");

    // The editor writes through Torpor (a file plus its change row) just before the kill.
    const late = { "late.txt": "written while the archive ran\n" };
    beforeKill = async () => {
      await runtime.sandboxes.writeFile(sandboxId, "late.txt", late["late.txt"]);
      await runtime.store.recordChanges(session.id, [{ path: "late.txt", operation: "write", size: late["late.txt"].length }]);
    };
    const archived = await run({ name: "torpor/session.archive.requested", data: { sessionId: session.id, reason: "paused too long", requestId: requestId() } });

    expect(beforeKill, "the injection ran").toBeNull();
    expect(archived.status).toBe("completed");
    const result = JSON.parse(archived.result!) as ArchiveResult;
    expect(result.status).toBe("aborted");
    expect(result.reason).toContain("a file changed after its last checkpoint");
    const after = await runtime.store.getSession(session.id);
    expect(after.state).toBe("paused");
    expect(after.sandboxId).toBe(sandboxId);
    expect(after.lease).toBeNull();
    expect(await runtime.sandboxes.status(sandboxId)).toBe("paused");
    expect(await sandboxFingerprint(runtime.sandboxes, sandboxId)).toEqual(fingerprint({ ...files, ...late }));
    expect((await runtime.store.listPendingChanges(session.id)).map((c) => c.path)).toEqual(["late.txt"]);

    // The next archive takes a final checkpoint with the late file, and only then kills.
    const again = await run({ name: "torpor/session.archive.requested", data: { sessionId: session.id, reason: "paused too long", requestId: requestId() } });
    expect((JSON.parse(again.result!) as ArchiveResult).status).toBe("archived");
    expect((JSON.parse(again.result!) as ArchiveResult).finalCheckpoint).toBe(true);
    expect(await runtime.sandboxes.status(sandboxId)).toBe("gone");
    const resumed = await run({ name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "back", requestId: requestId() } });
    expect(resumed.status).toBe("completed");
    const back = await runtime.store.getSession(session.id);
    expect(await sandboxFingerprint(runtime.sandboxes, back.sandboxId!)).toEqual(fingerprint({ ...files, ...late }));
  });
});
