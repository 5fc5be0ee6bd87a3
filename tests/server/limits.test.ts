// Per-tenant limits (issue 14): bodies refused while they stream in, never buffered whole; a batch
// limit; a session quota per user.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST } from "../../app/api/trpc/[trpc]/route";
import { createTorporClient, errorCode } from "../../src/client";
import { signToken } from "../../src/server/auth";
import { publishAppHost } from "../../src/server/host";
import { startTestRuntime, type TestRuntime } from "../helpers/app";

const SECRET = "l".repeat(40);
const MAX_BODY = 256 * 1024;
let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime({ TORPOR_MAX_REQUEST_BYTES: String(MAX_BODY), TORPOR_MAX_BATCH: "3", TORPOR_MAX_SESSIONS_PER_USER: "2" });
  publishAppHost({ deps: t.runtime, workflowDeps: t.runtime.deps, authSecret: SECRET });
});
afterAll(async () => {
  publishAppHost(undefined);
  await t?.close();
});

const token = (userId: string) => signToken(SECRET, { userId, role: "user" });
const viaRoute: typeof fetch = async (input, init) => POST(new Request(input as string, init));

describe("request limits", () => {
  it("refuses a body whose Content-Length is over the limit with 413, before reading it", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const res = await POST(
      new Request("http://torpor.test/api/trpc/files.write", {
        method: "POST",
        headers: { authorization: `Bearer ${await token("u1")}`, "content-type": "application/json", "content-length": String(MAX_BODY * 100) },
        body,
        duplex: "half",
      } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect(await res.text()).toMatch(/TORPOR_MAX_REQUEST_BYTES/);
    expect(pulled).toBeLessThanOrEqual(1); // the stream's first pull at most: nothing was read on
  });

  it("stops a body without a length as soon as it passes the limit", async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 64 * 1024;
        if (sent > 64 * MAX_BODY) controller.close();
        else controller.enqueue(new TextEncoder().encode("x".repeat(64 * 1024)));
      },
    });
    const res = await POST(
      new Request("http://torpor.test/api/trpc/files.write", {
        method: "POST",
        headers: { authorization: `Bearer ${await token("u1")}`, "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(4 * MAX_BODY); // stopped near the limit, not after 64x of it
  });

  it("refuses a batch larger than TORPOR_MAX_BATCH", async () => {
    const auth = `Bearer ${await token("u2")}`;
    const paths = ["sessions.list", "sessions.list", "sessions.list", "sessions.list"];
    const input = encodeURIComponent(JSON.stringify(Object.fromEntries(paths.map((_, i) => [i, {}]))));
    const res = await POST(
      new Request(`http://torpor.test/api/trpc/${paths.join(",")}?batch=1&input=${input}`, { method: "POST", headers: { authorization: auth, "content-type": "application/json" }, body: JSON.stringify(Object.fromEntries(paths.map((_, i) => [i, {}]))) }),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/batch/i);
  });

  it("refuses a session past the user's quota with TOO_MANY_REQUESTS; other users are unaffected", async () => {
    const carol = createTorporClient({ url: "http://torpor.test", token: await token("carol"), fetch: viaRoute });
    const dave = createTorporClient({ url: "http://torpor.test", token: await token("dave"), fetch: viaRoute });
    await carol.sessions.create.mutate({});
    await carol.sessions.create.mutate({});
    const third = await carol.sessions.create.mutate({}).catch((e: unknown) => e);
    expect(errorCode(third)).toBe("TOO_MANY_REQUESTS");
    expect(String((third as Error).message)).toMatch(/TORPOR_MAX_SESSIONS_PER_USER=2/);
    await expect(dave.sessions.create.mutate({})).resolves.toMatchObject({ ownerId: "dave" });
  });
});
