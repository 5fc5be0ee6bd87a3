/** checkpoints.*: take a labelled checkpoint, list it, restore the session to an earlier one. */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alice, startTestRuntime, waitFor, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => t?.close());

const committed = (sessionId: string) =>
  t.caller(alice).checkpoints.list({ sessionId }).then((list) => list.filter((c) => c.status === "committed"));

describe("checkpoints", () => {
  it("create takes a labelled checkpoint; restore brings back its files", async () => {
    const api = t.caller(alice);
    const { id: sessionId } = await api.sessions.create({});
    await api.files.write({ sessionId, path: "notes.txt", content: "version 1" });

    const receipt = await api.checkpoints.create({ sessionId, label: "before edit" });
    expect(receipt.requestId).toMatch(/^req_/);
    const [first] = await waitFor("a committed checkpoint", () => committed(sessionId), (l) => l.length === 1);
    expect(first).toMatchObject({ sessionId, label: "before edit", kind: "manual", status: "committed" });
    expect(first!.files).toBeGreaterThanOrEqual(1);
    expect(first!.bytes).toBeGreaterThanOrEqual(9);
    await waitFor("lease released", () => t.runtime.store.getSession(sessionId), (s) => s.lease === null);

    await api.files.write({ sessionId, path: "notes.txt", content: "version 2" });
    await api.checkpoints.restore({ sessionId, checkpointId: first!.id });
    await waitFor(
      "restored",
      () => api.runs.list({ sessionId, limit: 10 }),
      (runs) => runs.some((r) => r.workflow === "restore-session" && r.status === "completed"),
    );
    await waitFor("running", () => t.runtime.store.getSession(sessionId), (s) => s.state === "running" && s.lease === null);
    expect((await api.files.read({ sessionId, path: "notes.txt" })).content).toBe("version 1");
  });

  it("restore refuses a checkpoint of another session, naming both", async () => {
    const api = t.caller(alice);
    const a = await api.sessions.create({});
    const b = await api.sessions.create({});
    await api.checkpoints.create({ sessionId: a.id, label: null });
    const [cp] = await waitFor("checkpoint", () => committed(a.id), (l) => l.length === 1);
    const error = await api.checkpoints.restore({ sessionId: b.id, checkpointId: cp!.id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("NOT_FOUND");
    expect((error as TRPCError).message).toBe(`No checkpoint '${cp!.id}' in session '${b.id}'`);
  });

  it("create refuses a sleeping session", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    await api.sessions.hibernateNow({ sessionId: id });
    await waitFor("paused", () => t.runtime.store.getSession(id), (s) => s.state === "paused");
    const error = await api.checkpoints.create({ sessionId: id }).catch((e: unknown) => e);
    expect((error as TRPCError).code).toBe("PRECONDITION_FAILED");
    expect((await committed(id)).length).toBe(1);
  });
});
