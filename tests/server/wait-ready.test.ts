/**
 * The host-app wait: through the typed client and the real route handler, a write during a
 * transient state answers a retriable CONFLICT that says to wait (not "resume it first");
 * waitReady then resolves, in one long-poll request, when the session is running again; a
 * sleeping session is woken by it; wake: false only waits and times out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET, POST } from "../../app/api/trpc/[trpc]/route";
import { createTorporClient, isRetriableBusy, TorporWaitTimeout, waitReady } from "../../src/client";
import { signToken } from "../../src/server/auth";
import { publishAppHost } from "../../src/server/host";
import { startTestRuntime, waitFor, type TestRuntime } from "../helpers/app";

const SECRET = "w".repeat(40);
let t: TestRuntime;
let requests = 0;

beforeAll(async () => {
  t = await startTestRuntime();
  publishAppHost({ deps: t.runtime, workflowDeps: t.runtime.deps, authSecret: SECRET });
});
afterAll(async () => {
  publishAppHost(undefined);
  await t?.close();
});

const viaRoute: typeof fetch = async (input, init) => {
  requests++;
  const request = new Request(input as string, init);
  return request.method === "GET" ? GET(request) : POST(request);
};
const clientFor = async (userId: string) =>
  createTorporClient({ url: "http://torpor.test", token: await signToken(SECRET, { userId, role: "user" }), fetch: viaRoute });

describe("sessions.waitReady through the typed client", () => {
  it("a write while hibernating is a retriable wait; waitReady resolves in one request when it runs again", async () => {
    const host = await clientFor("hana");
    const { id } = await host.sessions.create.mutate({});
    const store = t.runtime.store;
    // Hold the session in hibernating as a hibernate run would, under a lease of our own.
    await store.acquireLease(id, { holder: "test-hibernate", operation: "hibernate", ttlMs: 60_000 });
    await store.transition(id, "hibernate.start", { holder: "test-hibernate" });

    const error = await host.files.write.mutate({ sessionId: id, path: "a.txt", content: "x" }).catch((e: unknown) => e);
    expect(isRetriableBusy(error)).toBe(true);
    expect((error as Error).message).toContain("is hibernating; wait until it is ready (sessions.waitReady) and retry");
    expect((error as Error).message).not.toContain("resume it first");

    requests = 0;
    const waiting = waitReady(host, id, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 400));
    await store.transition(id, "hibernate.aborted", { holder: "test-hibernate" });
    await store.releaseLease(id, "test-hibernate");
    const ready = await waiting;
    expect(ready.state).toBe("running");
    expect(ready.waitedMs).toBeGreaterThanOrEqual(350);
    expect(requests).toBe(1);
    await host.files.write.mutate({ sessionId: id, path: "a.txt", content: "after the wait" });
    expect((await host.files.read.query({ sessionId: id, path: "a.txt" })).content).toBe("after the wait");
  });

  it("wakes a paused session, or with wake: false only waits and times out", async () => {
    const host = await clientFor("ivo");
    const { id } = await host.sessions.create.mutate({});
    await host.files.write.mutate({ sessionId: id, path: "kept.txt", content: "kept" });
    await host.sessions.hibernateNow.mutate({ sessionId: id });
    await waitFor("paused", () => t.runtime.store.getSession(id), (s) => s.state === "paused" && s.lease === null);

    requests = 0;
    const timeout = await waitReady(host, id, { timeoutMs: 600, wake: false }).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(TorporWaitTimeout);
    expect((timeout as TorporWaitTimeout).state).toBe("paused");
    expect(requests).toBe(1);

    const ready = await waitReady(host, id, { timeoutMs: 30_000 });
    expect(ready.state).toBe("running");
    expect((await host.files.read.query({ sessionId: id, path: "kept.txt" })).content).toBe("kept");
  });
});
