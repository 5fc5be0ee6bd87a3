/**
 * The object store failing 10% of requests (errors, timeouts, resets), once at the ObjectStore
 * interface and once at the wire in front of s3rver (so the S3 adapter's own classification and
 * retries are what copes): every workflow completes, and the files survive. And the provider losing paused sandboxes: resume restores from the
 * checkpoint, every hash checked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  startWorkflowRuntime,
  type WorkflowRuntime,
} from "../helpers/runtime";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { flakyObjects, type FaultStats } from "./flaky-objects";
import { startFlakyProxy, type FlakyProxy } from "./flaky-proxy";
import { checkLatestCheckpoint, checkSandbox, counts } from "./support";

const SESSIONS = 5;

async function completes(rt: WorkflowRuntime, event: TorporEvent | { tick: string }) {
  const engine = rt.runtime.engine!;
  const id = "tick" in event ? await engine.tick(event.tick) : (await engine.send(event)).ids[0]!;
  const run = await engine.waitFor(id);
  expect(run.status, `${run.workflow}: ${run.error}`).toBe("completed");
  counts.runs += 1;
  return JSON.parse(run.result ?? "null") as Record<string, unknown>;
}

export function flakyScenarios(): void {
  describe.each(["at the ObjectStore interface", "at the wire (HTTP proxy in front of s3rver)"])("object store failing 10%% of requests %s", (where) => {
    const stats: FaultStats = { requests: 0, faults: 0 };
    let rt: WorkflowRuntime;
    let s3: TestS3 | undefined;
    let proxy: FlakyProxy | undefined;
    beforeAll(async () => {
      const seed = Math.floor(Math.random() * 2 ** 31);
      console.log(`flaky object store (${where}) seed: ${seed}`);
      if (where.startsWith("at the wire")) {
        s3 = await startTestS3();
        proxy = await startFlakyProxy(s3.endpoint, 0.1, seed, stats);
        rt = await startWorkflowRuntime({
          env: {
            TORPOR_SMALL_FILE_BYTES: "0",
            TORPOR_OBJECT_STORE: "s3",
            S3_ENDPOINT: proxy.endpoint,
            S3_BUCKET: s3.bucket,
            AWS_ACCESS_KEY_ID: s3.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          },
        });
      } else {
        rt = await startWorkflowRuntime({
          env: { TORPOR_SMALL_FILE_BYTES: "0" },
          wrapObjects: (objects) => flakyObjects(objects, 0.1, seed, stats),
        });
      }
    });
    afterAll(async () => {
      counts.injectedFaults += stats.faults;
      await rt.close();
      await proxy?.close();
      await s3?.close();
    });

    it.each(Array.from({ length: SESSIONS }, (_, i) => i))("every workflow completes (session %i)", async (i) => {
      const { runtime } = rt;
      const files = sampleFiles(`flaky-${i}`, 12);
      const session = await createSessionWithFiles(runtime, files);
      const sessionId = session.id;
      const req = (name: string) => requestId(`${name}-${i}`);
      expect(await completes(rt, { name: "torpor/session.hibernate.requested", data: { sessionId, reason: "idle", requestId: req("h") } })).toMatchObject({ status: "paused" });
      expect(await completes(rt, { name: "torpor/session.resume.requested", data: { sessionId, reason: "open", requestId: req("r") } })).toMatchObject({ rung: "connected" });
      const snap = await completes(rt, { name: "torpor/session.snapshot.requested", data: { sessionId, label: "mark", requestId: req("s") } });
      const sandboxId = (await runtime.store.getSession(sessionId)).sandboxId!;
      await runtime.sandboxes.writeFile(sandboxId, "after-mark.txt", "later work");
      await runtime.store.recordChanges(sessionId, [{ path: "after-mark.txt", operation: "write" }]);
      const later = { ...fingerprint(files), "after-mark.txt": fingerprint({ x: "later work" }).x! };
      expect(await completes(rt, { name: "torpor/session.hibernate.requested", data: { sessionId, reason: "idle", requestId: req("h2") } })).toMatchObject({ status: "paused" });
      expect(await completes(rt, { name: "torpor/session.archive.requested", data: { sessionId, reason: "old", requestId: req("a") } })).toMatchObject({ status: "archived" });
      expect(await checkLatestCheckpoint(runtime, sessionId, later)).toEqual([]);
      expect(await completes(rt, { name: "torpor/session.resume.requested", data: { sessionId, reason: "back", requestId: req("r2") } })).toMatchObject({ rung: "restored" });
      expect(await checkSandbox(runtime, sessionId, later)).toEqual([]);
      const checkpointId = snap.checkpointId as string;
      expect(await completes(rt, { name: "torpor/session.restore.requested", data: { sessionId, checkpointId, requestId: req("rs") } })).toMatchObject({ status: "restored" });
      expect(await checkSandbox(runtime, sessionId, fingerprint(files))).toEqual([]);
      expect(await checkLatestCheckpoint(runtime, sessionId, fingerprint(files))).toEqual([]);
      await completes(rt, { tick: "retention" });
      counts.scenarios += 1;
    });

    it("injected faults along the way", () => {
      expect(stats.requests).toBeGreaterThan(100);
      expect(stats.faults).toBeGreaterThan(0);
      console.log(`flaky object store (${where}): ${stats.faults} faults in ${stats.requests} requests`);
    });
  });

  describe("provider losing paused sandboxes", () => {
    it("resume restores every file from the checkpoint", async () => {
      const rt = await startWorkflowRuntime();
      try {
        for (let i = 0; i < 3; i++) {
          const files = sampleFiles(`lost-${i}`, 8);
          const session = await createSessionWithFiles(rt.runtime, files);
          await completes(rt, { name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId("lh") } });
          await rt.runtime.sandboxes.kill(session.sandboxId!);
          counts.injectedFaults += 1;
          const result = await completes(rt, { name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId("lr") } });
          expect(result).toMatchObject({ rung: "restored" });
          expect(await checkSandbox(rt.runtime, session.id, fingerprint(files))).toEqual([]);
          counts.scenarios += 1;
        }
      } finally {
        await rt.close();
      }
    });
  });
}
