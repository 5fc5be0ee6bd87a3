/**
 * Wake-ups that fail: the next ping must be able to wake the session. The engines drop a repeated
 * request id (the embedded engine for good, Inngest for 24 h), so the id of a wake-up must change
 * once an attempt ended and the session still sleeps. Embedded engine (real runtime, a provider
 * whose connect fails once) and the Inngest path (a dispatcher that drops repeated ids as Inngest
 * does, runs recorded in the store as inngest/wrap.ts records them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxError } from "../../src/core/errors";
import type { Principal } from "../../src/server/auth";
import { createContextInner } from "../../src/server/context";
import { WAKE_RETRY_MS } from "../../src/server/routers/activity";
import { createCaller } from "../../src/server/routers";
import type { TorporEvent, WorkflowDispatcher } from "../../src/workflows/types";
import { startWorkflowRuntime, waitUntil, type WorkflowRuntime } from "../helpers/runtime";

const alice: Principal = { userId: "alice", role: "user" };
let rt: WorkflowRuntime;
let failConnects = 0;

beforeAll(async () => {
  rt = await startWorkflowRuntime({
    wrapSandboxes: (p) => ({
      ...p,
      async connect(id) {
        if (failConnects > 0) {
          failConnects--;
          throw new SandboxError("PROVIDER", "simulated: the provider refused the connect", { retriable: false });
        }
        return p.connect(id);
      },
    }),
  });
});
afterAll(async () => rt?.close());

const caller = (now: () => number = Date.now, dispatcher?: WorkflowDispatcher) =>
  createCaller(createContextInner({ deps: { ...rt.runtime, ...(dispatcher ? { dispatcher } : {}) }, principal: alice, now }));

async function pausedSession(): Promise<string> {
  const api = caller();
  const { id } = await api.sessions.create({});
  await api.files.write({ sessionId: id, path: "keep.txt", content: "kept" });
  await api.sessions.hibernateNow({ sessionId: id });
  await waitUntil("paused", () => rt.runtime.store.getSession(id), (s) => s.state === "paused" && s.lease === null);
  return id;
}

describe("a failed wake-up never silences the next (embedded engine)", () => {
  it("after a failed resume: waking false with the error, then a new request id that wakes the session", async () => {
    const id = await pausedSession();
    failConnects = 1;
    const first = await caller().activity.ping({ sessionId: id });
    expect(first).toMatchObject({ waking: true, wakeError: null });
    const failed = await waitUntil(
      "the failed resume",
      async () => (await rt.runtime.store.listRuns({ sessionId: id, workflow: "resume-session" }))[0],
      (r) => r?.status === "failed",
    ).then((r) => r!);
    await waitUntil("paused again", () => rt.runtime.store.getSession(id), (s) => s.state === "paused" && s.lease === null);

    const soon = await caller(() => failed.endedAt! + 1000).activity.ping({ sessionId: id });
    expect(soon.waking).toBe(false);
    expect(soon.resumeRequestId).toBeNull();
    expect(soon.wakeError).toContain("simulated: the provider refused the connect");

    const later = await caller(() => failed.endedAt! + WAKE_RETRY_MS + 1000).activity.ping({ sessionId: id });
    expect(later.waking).toBe(true);
    expect(later.resumeRequestId).not.toBe(first.resumeRequestId);
    expect(later.wakeError).toContain("simulated");
    await waitUntil("running", () => rt.runtime.store.getSession(id), (s) => s.state === "running" && s.lease === null);
    expect((await caller().files.read({ sessionId: id, path: "keep.txt" })).content).toBe("kept");
    const resumes = await rt.runtime.store.listRuns({ sessionId: id, workflow: "resume-session" });
    expect(resumes.map((r) => r.status)).toEqual(["completed", "failed"]);
  });

  it("a burst of pings while the resume runs shares one request id", async () => {
    const id = await pausedSession();
    const burst = await Promise.all([1, 2, 3].map(() => caller().activity.ping({ sessionId: id })));
    expect(burst.every((r) => r.waking)).toBe(true);
    expect(new Set(burst.map((r) => r.resumeRequestId)).size).toBe(1);
    await waitUntil("running", () => rt.runtime.store.getSession(id), (s) => s.state === "running" && s.lease === null);
    expect((await rt.runtime.store.listRuns({ sessionId: id, workflow: "resume-session" })).length).toBe(1);
  });
});

describe("a failed wake-up never silences the next (Inngest path)", () => {
  it("the id of a wake-up whose Inngest run failed is not sent again", async () => {
    const id = await pausedSession();
    // Inngest drops an event whose id it saw in the last 24 h: model that, and record runs as
    // inngest/wrap.ts does (a row per run with the event as input, its outcome at the end).
    const seen = new Set<string>();
    const started: TorporEvent[] = [];
    const inngest: WorkflowDispatcher = {
      kind: "inngest",
      async send(event) {
        const requestId = (event.data as { requestId: string }).requestId;
        if (seen.has(requestId)) return { ids: [] };
        seen.add(requestId);
        started.push(event);
        return { ids: [`evt-${seen.size}`] };
      },
    };
    const first = await caller(Date.now, inngest).activity.ping({ sessionId: id });
    expect(started).toHaveLength(1);
    const run = await rt.runtime.store.createRun({ workflow: "resume-session", sessionId: id, input: started[0], externalId: "01INNGEST" });
    const ended = await rt.runtime.store.finishRun(run.id, { status: "failed", error: "Resume a session failed: connect refused" });

    const next = await caller(() => ended.endedAt! + WAKE_RETRY_MS + 1, inngest).activity.ping({ sessionId: id });
    expect(next.waking).toBe(true);
    expect(next.resumeRequestId).not.toBe(first.resumeRequestId);
    expect(next.wakeError).toContain("connect refused");
    expect(started).toHaveLength(2); // before the fix: the same id, dropped, and no resume ever again
  });
});
