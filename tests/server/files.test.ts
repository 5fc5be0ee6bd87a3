/** files.*: writes go through the sandbox provider and leave change rows; reads and listings see them. */
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alice, startTestRuntime, waitFor, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
let sessionId: string;
let sandboxId: string;
beforeAll(async () => {
  t = await startTestRuntime();
  const s = await t.caller(alice).sessions.create({});
  sessionId = s.id;
  sandboxId = s.sandboxId!;
});
afterAll(async () => t?.close());

describe("files", () => {
  it("write puts the bytes in the sandbox and records a change row and activity", async () => {
    const api = t.caller(alice);
    const before = await t.runtime.store.getSession(sessionId);
    const result = await api.files.write({ sessionId, path: "docs/readme.md", content: "# hello\n" });
    expect(result).toEqual({ path: "docs/readme.md", size: 8 });
    expect((await t.runtime.sandboxes.readFile(sandboxId, "docs/readme.md")).toString()).toBe("# hello\n");
    const changes = await api.files.pendingChanges({ sessionId });
    expect(changes).toContainEqual(expect.objectContaining({ path: "docs/readme.md", operation: "write", size: 8, checkpointId: null }));
    const after = await t.runtime.store.getSession(sessionId);
    expect(after.lastActivityKind).toBe("file");
    expect(after.lastActivityAt).toBeGreaterThanOrEqual(before.lastActivityAt);
  });

  it("base64 round-trips binary content and the mode is applied", async () => {
    const api = t.caller(alice);
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await api.files.write({ sessionId, path: "bin/tool", content: bytes.toString("base64"), encoding: "base64", mode: 0o755 });
    const read = await api.files.read({ sessionId, path: "bin/tool", encoding: "base64" });
    expect(Buffer.from(read.content, "base64")).toEqual(bytes);
    const listed = await api.files.list({ sessionId });
    expect(listed.find((e) => e.path === "bin/tool")).toMatchObject({ type: "file", size: 5, mode: 0o755 });
    expect(listed.map((e) => e.path)).toEqual(expect.arrayContaining(["docs", "docs/readme.md", "bin"]));
    expect((await api.files.list({ sessionId, dir: "docs" })).map((e) => e.path)).toContain("docs/readme.md");
  });

  it("refuses a write over 8 MiB, naming the path, and writes nothing", async () => {
    const error = await t.caller(alice).files.write({ sessionId, path: "big.txt", content: "a".repeat(8 * 1024 * 1024 + 1) }).catch((e: unknown) => e);
    expect((error as TRPCError).code).toBe("PAYLOAD_TOO_LARGE");
    expect((error as TRPCError).message).toContain("'big.txt'");
    expect((await t.caller(alice).files.list({ sessionId })).map((e) => e.path)).not.toContain("big.txt");
  });

  it("reading a missing file names it", async () => {
    const error = await t.caller(alice).files.read({ sessionId, path: "nope.txt" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe("NOT_FOUND");
    expect((error as TRPCError).message).toContain("nope.txt");
  });

  it("file access to a sleeping session is refused until it is resumed", async () => {
    const api = t.caller(alice);
    await api.sessions.hibernateNow({ sessionId });
    await waitFor("paused", () => t.runtime.store.getSession(sessionId), (s) => s.state === "paused");
    // The hibernation checkpoint flushed the pending change rows.
    expect(await api.files.pendingChanges({ sessionId })).toEqual([]);
    for (const call of [
      () => api.files.read({ sessionId, path: "docs/readme.md" }),
      () => api.files.write({ sessionId, path: "x", content: "y" }),
      () => api.files.list({ sessionId }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect((error as TRPCError).code).toBe("PRECONDITION_FAILED");
      expect((error as TRPCError).message).toContain(`session '${sessionId}' is paused`);
    }
  });
});
