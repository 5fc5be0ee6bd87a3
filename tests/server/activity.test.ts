/** activity.ping: coalesced writes, and a ping to a sleeping session wakes it (once, for a burst). */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alice, startTestRuntime, waitFor, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime({ TORPOR_ACTIVITY_COALESCE_MS: "3600000" });
});
afterAll(async () => t?.close());

describe("activity.ping", () => {
  it("is coalesced: pings within the window are reads", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(await api.activity.ping({ sessionId: id }));
    expect(rows.every((r) => r.state === "running" && !r.waking && r.resumeRequestId === null)).toBe(true);
    expect(rows.filter((r) => r.written).length).toBe(0);
    expect(rows[0]!.hibernatesAt).toBe((await t.runtime.store.getSession(id)).lastActivityAt + (await t.runtime.store.getSession(id)).idleTimeoutMs);
  });

  it("wakes a paused session; a burst of pings asks for one resume", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    await api.files.write({ sessionId: id, path: "keep.txt", content: "kept" });
    await api.sessions.hibernateNow({ sessionId: id });
    await waitFor("paused", () => t.runtime.store.getSession(id), (s) => s.state === "paused" && s.lease === null);

    const burst = await Promise.all([1, 2, 3].map(() => api.activity.ping({ sessionId: id })));
    expect(burst.every((r) => r.waking)).toBe(true);
    expect(new Set(burst.map((r) => r.resumeRequestId)).size).toBe(1);
    await waitFor("running", () => t.runtime.store.getSession(id), (s) => s.state === "running" && s.lease === null);
    const resumes = (await api.runs.list({ sessionId: id })).filter((r) => r.workflow === "resume-session");
    expect(resumes.length).toBe(1);
    expect((await api.files.read({ sessionId: id, path: "keep.txt" })).content).toBe("kept");
    expect((await t.runtime.store.getSession(id)).wakeReason?.detail).toContain("activity");
  });

  it("wakes a failed session from its checkpoint; pings in the same minute share one request", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    await api.files.write({ sessionId: id, path: "saved.txt", content: "in the checkpoint" });
    await api.checkpoints.create({ sessionId: id, label: "before failure" });
    await waitFor("checkpoint", () => t.runtime.store.getSession(id), (s) => s.latestCheckpointId !== null && s.lease === null);
    await t.runtime.store.transition(id, "fail", { patch: { lastError: "simulated provider failure" } });

    // Two pings a second apart within one minute: either the same request or, once the resume
    // has started, no request at all. Never a second resume.
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const first = await t.caller(alice, () => minute + 1000).activity.ping({ sessionId: id });
    const second = await t.caller(alice, () => minute + 2000).activity.ping({ sessionId: id });
    expect(first.waking).toBe(true);
    expect([first.resumeRequestId, null]).toContain(second.resumeRequestId);
    await waitFor("running", () => t.runtime.store.getSession(id), (s) => s.state === "running" && s.lease === null);
    expect((await api.files.read({ sessionId: id, path: "saved.txt" })).content).toBe("in the checkpoint");
    expect((await api.runs.list({ sessionId: id })).filter((r) => r.workflow === "resume-session").length).toBe(1);
  });

  it("refuses a deleted session", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    await api.sessions.delete({ sessionId: id });
    await waitFor("deleted", () => t.runtime.store.getSession(id), (s) => s.state === "deleted");
    const error = await api.activity.ping({ sessionId: id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("PRECONDITION_FAILED");
  });
});
