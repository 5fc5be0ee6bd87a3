/**
 * The HTTP path without a server: the typed client (createTorporClient) → the /api/trpc route
 * handler (fetch adapter, bearer token, context) → the routers, on the real runtime published the
 * way the start command publishes it. Checks batching, auth errors and the client's error codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET, POST } from "../../app/api/trpc/[trpc]/route";
import { createTorporClient, errorCode, trpcEndpoint } from "../../src/client";
import { signToken } from "../../src/server/auth";
import { publishAppHost } from "../../src/server/host";
import { startTestRuntime, type TestRuntime } from "../helpers/app";

const SECRET = "h".repeat(40);
let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime();
  publishAppHost({ deps: t.runtime, workflowDeps: t.runtime.deps, authSecret: SECRET });
});
afterAll(async () => {
  publishAppHost(undefined);
  await t?.close();
});

const viaRoute: typeof fetch = async (input, init) => {
  const request = new Request(input as string, init);
  return request.method === "GET" ? GET(request) : POST(request);
};
const clientFor = async (userId: string, secret = SECRET) =>
  createTorporClient({ url: "http://torpor.test", token: await signToken(secret, { userId, role: "user" }), fetch: viaRoute });

describe("tRPC over HTTP", () => {
  it("appends /api/trpc to a base URL once", () => {
    expect(trpcEndpoint("https://t.example.com/")).toBe("https://t.example.com/api/trpc");
    expect(trpcEndpoint("https://t.example.com/api/trpc")).toBe("https://t.example.com/api/trpc");
  });

  it("creates, writes and reads through the route with a bearer token (batched calls)", async () => {
    const carol = await clientFor("carol");
    const session = await carol.sessions.create.mutate({});
    expect(session.ownerId).toBe("carol");
    await carol.files.write.mutate({ sessionId: session.id, path: "hello.txt", content: "over http" });
    const [read, list] = await Promise.all([
      carol.files.read.query({ sessionId: session.id, path: "hello.txt" }),
      carol.sessions.list.query(),
    ]);
    expect(read.content).toBe("over http");
    expect(list.map((s) => s.id)).toEqual([session.id]);
  });

  it("reports UNAUTHORIZED, NOT_FOUND (another user's session) and BAD_REQUEST codes to the client", async () => {
    const dave = await clientFor("dave");
    const erin = await clientFor("erin");
    const { id } = await dave.sessions.create.mutate({});
    const forged = await clientFor("dave", "x".repeat(40));
    const codes = await Promise.all([
      forged.sessions.list.query().catch(errorCode),
      erin.sessions.get.query({ sessionId: id }).catch(errorCode),
      dave.files.write.mutate({ sessionId: id, path: "../x", content: "" }).catch(errorCode),
    ]);
    expect(codes).toEqual(["UNAUTHORIZED", "NOT_FOUND", "BAD_REQUEST"]);
  });
});
