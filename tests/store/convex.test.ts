/// <reference types="vite/client" />
/**
 * The StateStore contract on the Convex adapter, run against convex-test: the real functions in
 * convex/, with schema validation, argument validators and declared indexes enforced. The same
 * adapter code that production runs over ConvexHttpClient talks to the convex-test instance.
 */
import { convexTest } from "convex-test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import schema from "../../convex/schema";
import { isTorporError } from "../../src/core/errors";
import { createConvexStore, type ConvexClientLike } from "../../src/store/convex";
import { storeContract, T0 } from "./contract";

const modules = import.meta.glob("../../convex/**/*.*s");
const SECRET = "test-secret-0123456789abcdef";
let previous: string | undefined;
beforeAll(() => {
  previous = process.env.TORPOR_CONVEX_SECRET;
  process.env.TORPOR_CONVEX_SECRET = SECRET;
});
afterAll(() => {
  if (previous === undefined) delete process.env.TORPOR_CONVEX_SECRET;
  else process.env.TORPOR_CONVEX_SECRET = previous;
});

// transactionLimits: convex-test then refuses what production refuses (4,096 index ranges,
// 32,000 documents, 16 MiB read per function); without it a query past them passes here.
const makeClient = () => convexTest({ schema, modules, transactionLimits: true }) as unknown as ConvexClientLike;

storeContract("convex (convex-test)", () => createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client: makeClient() }));

describe("convex functions refuse callers without the secret", () => {
  it("answers UNAUTHORIZED to a wrong secret, for queries and mutations", async () => {
    const client = makeClient();
    const good = createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client });
    const bad = createConvexStore({ url: "https://unused.convex.cloud", secret: "wrong-secret-0123456789", client });
    const s = await good.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x", now: T0 });
    for (const call of [
      () => bad.findSession(s.id),
      () => bad.transition(s.id, "hibernate.start"),
      () => bad.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000 }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(isTorporError(error, "UNAUTHORIZED")).toBe(true);
    }
    expect((await good.getSession(s.id)).state).toBe("running");
  });

  it("enforces argument validators (a bad state or event never reaches the handler)", async () => {
    const client = makeClient();
    const store = createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client });
    const s = await store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x" });
    const error = await store.transition(s.id, "explode" as never).catch((e: unknown) => e);
    expect(isTorporError(error, "VALIDATION")).toBe(true);
    const raw = await client
      .mutation(api.sessions.recordActivity, { secret: SECRET, sessionId: s.id, at: 1, kind: "telepathy", coalesceMs: 0 })
      .catch((e: unknown) => e);
    expect(String(raw)).toMatch(/validator|Validator/);
  });
});

describe("convex session documents written before the CPU figure", () => {
  it("read it as null, and a later cpu activity stores one", async () => {
    const t = convexTest({ schema, modules, transactionLimits: true });
    const store = createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client: t as unknown as ConvexClientLike });
    const made = await store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x", now: T0 });
    // What an older deployment wrote: the same document without the two fields.
    await t.run(async (ctx) => {
      const doc = await ctx.db.query("sessions").withIndex("by_sessionId", (q) => q.eq("sessionId", made.id)).unique();
      const { _id, _creationTime, lastCpuCores: _c, lastCpuWindowMs: _w, ...old } = doc!;
      await ctx.db.replace(_id, old);
      expect(Object.keys((await ctx.db.get(_id))!)).not.toContain("lastCpuCores");
    });
    expect(await store.getSession(made.id)).toMatchObject({ lastCpuCores: null, lastCpuWindowMs: null });
    await store.recordActivity(made.id, { at: T0 + 1, kind: "cpu", coalesceMs: 0, cpuCores: 0.62, cpuWindowMs: 60_000 });
    expect(await store.getSession(made.id)).toMatchObject({ lastCpuCores: 0.62, lastCpuWindowMs: 60_000 });
  });
});

describe("convex session documents written before the per-session settings", () => {
  it("read as the defaults (api+files, the deployment's flush interval) and take settings after", async () => {
    const t = convexTest({ schema, modules, transactionLimits: true });
    const store = createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client: t as unknown as ConvexClientLike });
    const made = await store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x", now: T0 });
    // What an older deployment wrote: the same document without the two fields.
    await t.run(async (ctx) => {
      const doc = await ctx.db.query("sessions").withIndex("by_sessionId", (q) => q.eq("sessionId", made.id)).unique();
      const { _id, _creationTime, activity: _a, flushIntervalMs: _f, ...old } = doc!;
      await ctx.db.replace(_id, old);
      expect(Object.keys((await ctx.db.get(_id))!)).not.toContain("activity");
    });
    expect(await store.getSession(made.id)).toMatchObject({ activity: "api+files", flushIntervalMs: null });
    await store.updateSession(made.id, { activity: "api", flushIntervalMs: 0 }, { now: T0 + 1 });
    expect(await store.getSession(made.id)).toMatchObject({ activity: "api", flushIntervalMs: 0 });
    const raw = await t
      .mutation(api.sessions.update, { secret: SECRET, sessionId: made.id, patch: { activity: "files-only" as never } })
      .catch((e: unknown) => e);
    expect(String(raw)).toMatch(/validator|Validator/);
  });
});

describe("convex session documents written before unsavedSince", () => {
  it("get it from their oldest pending change through migrations:backfillUnsaved, page by page, and a second run changes nothing", async () => {
    const t = convexTest({ schema, modules, transactionLimits: true });
    const store = createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client: t as unknown as ConvexClientLike });
    const make = () => store.createSession({ ownerId: "o", provider: "local", template: "t", idleTimeoutMs: 1000, sandboxId: "x", now: T0 });
    const pending = await make();
    await store.recordChanges(pending.id, [{ path: "b.txt", operation: "write", at: T0 + 20 }, { path: "a.txt", operation: "write", at: T0 + 10 }]);
    const clean = await make();
    const current = await make();
    await store.recordChanges(current.id, [{ path: "c.txt", operation: "write", at: T0 + 30 }]);
    // What an older deployment wrote: the first two documents without the three fields.
    await t.run(async (ctx) => {
      for (const id of [pending.id, clean.id]) {
        const doc = await ctx.db.query("sessions").withIndex("by_sessionId", (q) => q.eq("sessionId", id)).unique();
        const { _id, _creationTime, unsavedSince: _u, unsavedGlobalAt: _g, flushDueAt: _f, ...old } = doc!;
        await ctx.db.replace(_id, old);
      }
    });
    const raw = (id: string) => t.run(async (ctx) => ctx.db.query("sessions").withIndex("by_sessionId", (q) => q.eq("sessionId", id)).unique());
    expect(Object.keys((await raw(pending.id))!)).not.toContain("unsavedSince");

    vi.useFakeTimers();
    try {
      // Two documents per page: the first call schedules the second page itself.
      expect(await t.mutation(internal.migrations.backfillUnsaved, { pageSize: 2 })).toMatchObject({ isDone: false });
      await t.finishAllScheduledFunctions(vi.runAllTimers);
    } finally {
      vi.useRealTimers();
    }
    expect(await raw(pending.id)).toMatchObject({ unsavedSince: T0 + 10, unsavedGlobalAt: T0 + 10, flushDueAt: null });
    expect(await raw(clean.id)).toMatchObject({ unsavedSince: null, unsavedGlobalAt: null, flushDueAt: null });
    expect(await raw(current.id)).toMatchObject({ unsavedSince: T0 + 30 });
    expect((await store.getSession(pending.id)).unsavedSince).toBe(T0 + 10);
    const again = await t.mutation(internal.migrations.backfillUnsaved, {});
    expect(again).toEqual({ updated: 0, isDone: true });
  });
});
