/**
 * Tenancy and authentication for EVERY procedure, through createCaller (no HTTP): another user
 * is refused (NOT_FOUND, as for an id that does not exist) and changes nothing, an anonymous caller is refused (UNAUTHORIZED), and
 * an operator may act on anyone's session. The table must name every procedure of the router, so
 * a new procedure without a tenancy case fails this test.
 */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "../../src/server/routers";
import { alice, bob, operator, startTestRuntime, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
let sessionId: string;
let checkpointId: string;
let runId: string;

beforeAll(async () => {
  t = await startTestRuntime();
  const session = await t.caller(alice).sessions.create({});
  sessionId = session.id;
  await t.caller(alice).files.write({ sessionId, path: "a.txt", content: "alice's" });
  // A committed checkpoint row of alice's session, for checkpoints.restore.
  checkpointId = `cp_${"0".repeat(12)}test`;
  await t.runtime.store.createCheckpoint({ id: checkpointId, sessionId, parentId: null, kind: "manual" });
  await t.runtime.store.commitCheckpoint(checkpointId, { files: 1, bytes: 7, uploadedBytes: 7 });
  // A run row of alice's session, for runs.get.
  runId = (await t.runtime.store.createRun({ workflow: "snapshot", sessionId, input: { name: "test" } })).id;
});
afterAll(async () => t?.close());

type Caller = ReturnType<TestRuntime["caller"]>;
/** One call per procedure that names alice's session. */
const SESSION_CALLS: Record<string, (c: Caller) => Promise<unknown>> = {
  "sessions.get": (c) => c.sessions.get({ sessionId }),
  "sessions.update": (c) => c.sessions.update({ sessionId, idleTimeoutMs: 5_000 }),
  "sessions.resume": (c) => c.sessions.resume({ sessionId }),
  "sessions.hibernateNow": (c) => c.sessions.hibernateNow({ sessionId }),
  "sessions.delete": (c) => c.sessions.delete({ sessionId }),
  "activity.ping": (c) => c.activity.ping({ sessionId }),
  "checkpoints.list": (c) => c.checkpoints.list({ sessionId }),
  "checkpoints.create": (c) => c.checkpoints.create({ sessionId, label: "x" }),
  "checkpoints.restore": (c) => c.checkpoints.restore({ sessionId, checkpointId }),
  "checkpoints.files": (c) => c.checkpoints.files({ sessionId, checkpointId }),
  "checkpoints.readFile": (c) => c.checkpoints.readFile({ sessionId, checkpointId, path: "a.txt" }),
  "checkpoints.diff": (c) => c.checkpoints.diff({ sessionId, checkpointId, against: "current" }),
  "files.list": (c) => c.files.list({ sessionId }),
  "files.read": (c) => c.files.read({ sessionId, path: "a.txt" }),
  "files.write": (c) => c.files.write({ sessionId, path: "b.txt", content: "bob was here" }),
  "files.pendingChanges": (c) => c.files.pendingChanges({ sessionId }),
  "runs.list": (c) => c.runs.list({ sessionId }),
  "runs.search": (c) => c.runs.search({ sessionId }),
  "timeline.get": (c) => c.timeline.get({ sessionId }),
  "sessions.waitReady": (c) => c.sessions.waitReady({ sessionId, timeoutMs: 0, wake: false }),
};
/** Procedures that name a run of alice's session: refused as an unknown run would be. */
const RUN_CALLS: Record<string, (c: Caller) => Promise<unknown>> = {
  "runs.get": (c) => c.runs.get({ runId }),
};
/** Procedures without a session id: they are scoped to the caller instead. */
const SCOPED_CALLS: Record<string, (c: Caller) => Promise<unknown>> = {
  "sessions.create": (c) => c.sessions.create({}),
  "sessions.list": (c) => c.sessions.list(),
  "overview.get": (c) => c.overview.get(),
};

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    expect(error).toBeInstanceOf(TRPCError);
    return (error as TRPCError).code;
  }
}

describe("access control", () => {
  it("has a case for every procedure of the router", () => {
    const procedures = Object.keys(appRouter._def.procedures).sort();
    expect(procedures).toEqual([...Object.keys(SESSION_CALLS), ...Object.keys(SCOPED_CALLS), ...Object.keys(RUN_CALLS)].sort());
  });

  it.each(Object.keys(SESSION_CALLS))("%s: another user is refused and sees nothing", async (name) => {
    const before = await t.runtime.store.getSession(sessionId);
    const error = await SESSION_CALLS[name]!(t.caller(bob)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    // The same answer as for an id that does not exist: no existence oracle (issue 14).
    expect((error as TRPCError).code).toBe("NOT_FOUND");
    expect((error as TRPCError).message).toBe(`No session '${sessionId}'`);
    const after = await t.runtime.store.getSession(sessionId);
    expect(after.state).toBe(before.state);
    expect(after.lastActivityAt).toBe(before.lastActivityAt);
    expect(await t.runtime.store.listPendingChanges(sessionId)).not.toContainEqual(expect.objectContaining({ path: "b.txt" }));
  });

  it.each(Object.keys(RUN_CALLS))("%s: another user gets the unknown-run answer; the owner and an operator get the run", async (name) => {
    const error = await RUN_CALLS[name]!(t.caller(bob)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("NOT_FOUND");
    expect((error as TRPCError).message).toBe(`No run '${runId}'`);
    expect(await RUN_CALLS[name]!(t.caller(alice))).toMatchObject({ id: runId });
    expect(await RUN_CALLS[name]!(t.caller(operator))).toMatchObject({ id: runId });
  });

  it.each([...Object.keys(SESSION_CALLS), ...Object.keys(SCOPED_CALLS), ...Object.keys(RUN_CALLS)])("%s: no token is UNAUTHORIZED", async (name) => {
    const call = (SESSION_CALLS[name] ?? SCOPED_CALLS[name] ?? RUN_CALLS[name])!;
    expect(await codeOf(call(t.caller(undefined)))).toBe("UNAUTHORIZED");
  });

  it("lists only the caller's own sessions; an operator sees all", async () => {
    await t.caller(bob).sessions.create({});
    const mine = await t.caller(alice).sessions.list();
    expect(mine.map((s) => s.ownerId)).toEqual(["alice"]);
    const bobs = await t.caller(bob).sessions.list();
    expect(bobs.every((s) => s.ownerId === "bob")).toBe(true);
    const all = await t.caller(operator).sessions.list();
    expect(new Set(all.map((s) => s.ownerId))).toEqual(new Set(["alice", "bob"]));
    const overview = await t.caller(bob).overview.get();
    expect(overview.sessions).toBe(bobs.length);
  });

  it("an operator may read and change another user's session", async () => {
    const op = t.caller(operator);
    expect((await op.sessions.get({ sessionId })).ownerId).toBe("alice");
    expect((await op.files.read({ sessionId, path: "a.txt" })).content).toBe("alice's");
    expect((await op.activity.ping({ sessionId })).state).toBe("running");
  });
});
