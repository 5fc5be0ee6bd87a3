/**
 * Leases under the workflows: a checkpoint that takes longer than the lease TTL keeps its lease
 * alive (heartbeat), and a run whose lease was taken over stops without touching the session.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ObjectStore } from "../../src/objectstore/types";
import type { TorporEvent } from "../../src/workflows/types";
import { createSessionWithFiles, requestId, sampleFiles, startWorkflowRuntime, runWorkflow, type WorkflowRuntime } from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

const run = (event: TorporEvent) => runWorkflow(rt!, event);

/** Every upload waits `pauseMs` first. */
function slowPuts(objects: ObjectStore, pauseMs: number): ObjectStore {
  return new Proxy(objects, {
    get(target, key, receiver) {
      if (key !== "put") return Reflect.get(target, key, receiver);
      return async (...args: Parameters<ObjectStore["put"]>) => {
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        return target.put(...args);
      };
    },
  });
}

describe("leases", () => {
  it("a checkpoint longer than the lease TTL keeps the lease alive", async () => {
    // TTL 1 s; 12 uploads one at a time, 200 ms each: the snapshot outlasts the TTL twice over.
    rt = await startWorkflowRuntime({
      env: { TORPOR_LEASE_TTL_MS: "1000", TORPOR_CONCURRENCY: "1", TORPOR_SMALL_FILE_BYTES: "0" },
      wrapObjects: (objects) => slowPuts(objects, 200),
    });
    const session = await createSessionWithFiles(rt.runtime, sampleFiles("slow"));
    const hibernated = await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    expect(hibernated.status, hibernated.error ?? "").toBe("completed");
    const flush = hibernated.steps.find((s) => s.name === "Flush pending changes and take a checkpoint")!;
    expect(flush.endedAt! - flush.startedAt).toBeGreaterThan(1000); // the premise, not a speed claim
    expect(await rt.runtime.store.getSession(session.id)).toMatchObject({ state: "paused", lease: null });
  });

  it("a run whose lease was taken over stops and leaves the session to the new holder", async () => {
    let sessionId = "";
    let done = false;
    rt = await startWorkflowRuntime({
      env: { TORPOR_LEASE_TTL_MS: "1000" },
      // During the first upload, the lease expires and an operator's tool takes the session over.
      wrapObjects: (objects) =>
        new Proxy(objects, {
          get(target, key, receiver) {
            if (key !== "put") return Reflect.get(target, key, receiver);
            return async (...args: Parameters<ObjectStore["put"]>) => {
              if (!done) {
                done = true;
                const store = rt!.runtime.store;
                const s = await store.getSession(sessionId);
                await store.releaseLease(sessionId, s.lease!.holder);
                await store.transition(sessionId, "hibernate.aborted");
                const taken = await store.acquireLease(sessionId, { holder: "operator", operation: "snapshot", ttlMs: 60_000 });
                expect(taken.ok).toBe(true);
              }
              return target.put(...args);
            };
          },
        }),
    });
    const session = await createSessionWithFiles(rt.runtime, sampleFiles("taken"));
    sessionId = session.id;
    const hibernated = await run({ name: "torpor/session.hibernate.requested", data: { sessionId, reason: "idle", requestId: requestId() } });
    expect(hibernated.status).toBe("failed");
    expect(hibernated.error).toMatch(/not held by/);
    const s = await rt.runtime.store.getSession(sessionId);
    expect(s).toMatchObject({ state: "running", lease: { holder: "operator" } });
    expect(await rt.runtime.sandboxes.status(session.sandboxId!)).toBe("running");
  });
  it("a snapshot that fails records why and releases its lease, leaving the session running", async () => {
    rt = await startWorkflowRuntime({
      env: { TORPOR_SMALL_FILE_BYTES: "0" },
      wrapObjects: (objects) =>
        new Proxy(objects, {
          get(target, key, receiver) {
            if (key !== "put") return Reflect.get(target, key, receiver);
            return async () => {
              throw new Error("bucket is read-only today");
            };
          },
        }),
    });
    const session = await createSessionWithFiles(rt.runtime, sampleFiles("fails"));
    const snap = await run({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
    expect(snap.status).toBe("failed");
    expect(snap.steps.map((s) => s.name)).toContain("Release the lease after a failure");
    const after = await rt.runtime.store.getSession(session.id);
    expect(after).toMatchObject({ state: "running", lease: null });
    expect(after.lastError).toMatch(/^snapshot failed: .*bucket is read-only today/);
  });
});
