/**
 * The checkpoint browser (checkpoints.files, readFile, diff): a paused session's checkpoint is
 * listed, read and compared straight from the object store, and the session stays paused (no
 * sandbox is woken); readFile checks content and refuses directories, missing paths and files
 * over the cap; diff names what a checkpoint added, changed and deleted against its parent, and
 * what a restore would change against the current files.
 */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCheckpointFile } from "../../src/server/checkpoint-browser";
import { alice, startTestRuntime, waitFor, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
let sessionId: string;
let first: string;
let second: string;

const committed = () => t.caller(alice).checkpoints.list({ sessionId }).then((l) => l.filter((c) => c.status === "committed"));
const idle = () => waitFor("lease released", () => t.runtime.store.getSession(sessionId), (s) => s.lease === null);

beforeAll(async () => {
  t = await startTestRuntime();
  const api = t.caller(alice);
  sessionId = (await api.sessions.create({})).id;
  await api.files.write({ sessionId, path: "keep.txt", content: "same" });
  await api.files.write({ sessionId, path: "notes.md", content: "version 1" });
  await api.files.write({ sessionId, path: "gone.txt", content: "bye" });
  await api.checkpoints.create({ sessionId, label: "one" });
  first = (await waitFor("first", committed, (l) => l.length === 1))[0]!.id;
  await idle();
  await api.files.write({ sessionId, path: "notes.md", content: "version 2, longer" });
  await api.files.write({ sessionId, path: "src/new.ts", content: "export {};\n" });
  const { sandboxId } = await t.runtime.store.getSession(sessionId);
  expect((await t.runtime.sandboxes.exec(sandboxId!, "rm gone.txt")).exitCode).toBe(0);
  await t.runtime.store.recordChanges(sessionId, [{ path: "gone.txt", operation: "delete", size: null, at: Date.now() }]);
  await api.sessions.hibernateNow({ sessionId });
  await waitFor("paused", () => t.runtime.store.getSession(sessionId), (s) => s.state === "paused" && s.lease === null, { timeoutMs: 60_000 });
  second = (await committed()).find((c) => c.id !== first)!.id;
}, 120_000);
afterAll(async () => t?.close());

describe("checkpoint browser", () => {
  it("lists and reads a paused session's checkpoint without waking it", async () => {
    const api = t.caller(alice);
    const listing = await api.checkpoints.files({ sessionId, checkpointId: first });
    expect(listing.entries.filter((e) => e.type === "file").map((e) => e.path).sort()).toEqual(expect.arrayContaining(["gone.txt", "keep.txt", "notes.md"]));
    expect((await api.checkpoints.readFile({ sessionId, checkpointId: first, path: "notes.md" })).content).toBe("version 1");
    expect((await api.checkpoints.readFile({ sessionId, checkpointId: second, path: "notes.md" })).content).toBe("version 2, longer");
    const b64 = await api.checkpoints.readFile({ sessionId, checkpointId: second, path: "src/new.ts", encoding: "base64" });
    expect(Buffer.from(b64.content, "base64").toString()).toBe("export {};\n");
    expect((await t.runtime.store.getSession(sessionId)).state).toBe("paused");
  });

  it("readFile refuses a missing path, a directory and a file over the cap", async () => {
    const api = t.caller(alice);
    const code = (p: Promise<unknown>) => p.then(() => "OK", (e: unknown) => (e as TRPCError).code);
    expect(await code(api.checkpoints.readFile({ sessionId, checkpointId: first, path: "src/new.ts" }))).toBe("NOT_FOUND");
    expect(await code(api.checkpoints.readFile({ sessionId, checkpointId: second, path: "src" }))).toBe("BAD_REQUEST");
    expect((await readCheckpointFile(t.runtime.objects, second, "notes.md", 4)).kind).toBe("too-large");
  });

  it("diff names what a checkpoint added, changed and deleted against its parent, and against the current files", async () => {
    const api = t.caller(alice);
    const parent = await api.checkpoints.diff({ sessionId, checkpointId: second, against: "parent" });
    expect(parent.against).toEqual({ kind: "checkpoint", id: first });
    expect(parent.added).toEqual(expect.arrayContaining(["src", "src/new.ts"]));
    expect(parent.changed).toContain("notes.md");
    expect(parent.changed).not.toContain("keep.txt");
    expect(parent.deleted).toEqual(["gone.txt"]);
    // Restoring the first checkpoint of the paused session: against its latest checkpoint (the second).
    const restore = await api.checkpoints.diff({ sessionId, checkpointId: first, against: "current" });
    expect(restore.against).toEqual({ kind: "checkpoint", id: second });
    expect(restore.deleted).toEqual(expect.arrayContaining(["src", "src/new.ts"]));
    expect(restore.changed).toEqual(["notes.md"]);
    expect((await t.runtime.store.getSession(sessionId)).state).toBe("paused");
  });
});
