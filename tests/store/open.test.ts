/**
 * Adapter selection from config, and the Convex adapter's error classification when the wire
 * itself fails (network down, an unclassified server error): no Convex deployment needed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { isTorporError } from "../../src/core/errors";
import { createConvexStore, openStateStore, type ConvexClientLike } from "../../src/store";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-open-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("openStateStore", () => {
  it("opens the SQLite file under the data dir by default", async () => {
    const config = loadConfig({ TORPOR_DATA_DIR: dir });
    const store = openStateStore(config.stateStore);
    expect(store.kind).toBe("sqlite");
    const s = await store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000 });
    await store.close();
    const again = openStateStore(config.stateStore);
    expect((await again.getSession(s.id)).id).toBe(s.id);
    await again.close();
  });

  it("builds the Convex adapter when Convex is configured, without calling it", async () => {
    const config = loadConfig({ CONVEX_URL: "https://happy-otter-1.convex.cloud", TORPOR_CONVEX_SECRET: "0123456789abcdef" });
    const store = openStateStore(config.stateStore);
    expect(store.kind).toBe("convex");
    await store.close();
  });
});

describe("convex adapter errors", () => {
  const failing = (error: unknown): ConvexClientLike => ({
    query: () => Promise.reject(error),
    mutation: () => Promise.reject(error),
  });
  const store = (error: unknown) => createConvexStore({ url: "https://x.convex.cloud", secret: "s".repeat(16), client: failing(error) });

  it("classifies a network failure as a transient storage error naming the function", async () => {
    const error = await store(new TypeError("fetch failed")).getSession("ses_x").catch((e: unknown) => e);
    expect(isTorporError(error, "STORAGE_TRANSIENT")).toBe(true);
    expect((error as Error).message).toContain("sessions.get");
  });

  it("turns a wire error payload back into the typed error with its details", async () => {
    const wire = Object.assign(new Error("ConvexError"), {
      data: { code: "LEASE_LOST", message: "Lease on session 's' expired", details: JSON.stringify({ sessionId: "s" }) },
    });
    const error = await store(wire).transition("s", "hibernate.start", { holder: "h" }).catch((e: unknown) => e);
    expect(isTorporError(error, "LEASE_LOST")).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ sessionId: "s" });
  });

  it("sends the secret and leaves absent optional arguments out", async () => {
    const calls: Record<string, unknown>[] = [];
    const client: ConvexClientLike = {
      query: async (_ref, args) => (calls.push(args), null),
      mutation: async (_ref, args) => (calls.push(args), null),
    };
    const s = createConvexStore({ url: "https://x.convex.cloud", secret: "s".repeat(16), client });
    await s.findSession("ses_a");
    await s.listIdleSessions(5);
    expect(calls).toEqual([
      { sessionId: "ses_a", secret: "s".repeat(16) },
      { now: 5, secret: "s".repeat(16) },
    ]);
  });
});
