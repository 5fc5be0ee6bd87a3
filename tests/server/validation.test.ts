/**
 * Input validation for every procedure that takes input: malformed ids, paths that would leave
 * the workspace, out-of-range numbers and unknown enum values are BAD_REQUEST with a message
 * naming the field, and nothing reaches the store.
 */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alice, startTestRuntime, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
let sessionId: string;
beforeAll(async () => {
  t = await startTestRuntime();
  sessionId = (await t.caller(alice).sessions.create({})).id;
});
afterAll(async () => t?.close());

type Caller = ReturnType<TestRuntime["caller"]>;
const BAD = "not-an-id";
const cases: [string, string, (c: Caller) => Promise<unknown>][] = [
  ["sessions.create", "idleTimeoutMs", (c) => c.sessions.create({ idleTimeoutMs: 5 })],
  ["sessions.create", "template", (c) => c.sessions.create({ template: "" })],
  ["sessions.get", "sessionId", (c) => c.sessions.get({ sessionId: BAD })],
  ["sessions.list", "state", (c) => c.sessions.list({ state: "sleepy" as never, limit: 10 })],
  ["sessions.list", "limit", (c) => c.sessions.list({ limit: 100_000 })],
  ["sessions.resume", "sessionId", (c) => c.sessions.resume({ sessionId: "cp_0000000000abc" })],
  ["sessions.hibernateNow", "sessionId", (c) => c.sessions.hibernateNow({ sessionId: BAD })],
  ["sessions.delete", "sessionId", (c) => c.sessions.delete({ sessionId: 42 as never })],
  ["activity.ping", "kind", (c) => c.activity.ping({ sessionId, kind: "typing" as never })],
  ["checkpoints.list", "sessionId", (c) => c.checkpoints.list({ sessionId: BAD })],
  ["checkpoints.create", "label", (c) => c.checkpoints.create({ sessionId, label: "x".repeat(500) })],
  ["checkpoints.restore", "checkpointId", (c) => c.checkpoints.restore({ sessionId, checkpointId: "../../etc" })],
  ["files.list", "dir", (c) => c.files.list({ sessionId, dir: "../outside" })],
  ["files.read", "path", (c) => c.files.read({ sessionId, path: "/etc/passwd" })],
  ["files.read", "encoding", (c) => c.files.read({ sessionId, path: "a", encoding: "latin1" as never })],
  ["files.write", "path", (c) => c.files.write({ sessionId, path: "a/../../b", content: "x" })],
  ["files.write", "mode", (c) => c.files.write({ sessionId, path: "a", content: "x", mode: 0o177777 })],
  ["files.pendingChanges", "limit", (c) => c.files.pendingChanges({ sessionId, limit: 0 })],
  ["runs.list", "sessionId", (c) => c.runs.list({ sessionId: "" })],
];

describe("input validation", () => {
  it.each(cases)("%s rejects a bad %s", async (_name, field, call) => {
    const before = await t.runtime.store.listPendingChanges(sessionId);
    const error = await call(t.caller(alice)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("BAD_REQUEST");
    expect((error as TRPCError).message).toMatch(/^Invalid input: /);
    expect((error as TRPCError).message).toContain(field);
    expect(await t.runtime.store.listPendingChanges(sessionId)).toEqual(before);
  });

  it("an unknown but well-formed session id is NOT_FOUND naming it", async () => {
    const missing = "ses_000000000aaaaaaaaaaaaaaaaaaaa";
    const error = await t.caller(alice).sessions.get({ sessionId: missing }).catch((e: unknown) => e);
    expect((error as TRPCError).code).toBe("NOT_FOUND");
    expect((error as TRPCError).message).toBe(`No session '${missing}'`);
  });
});
