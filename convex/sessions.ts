/**
 * Session functions: create, find, list, the idle query, coalesced activity, leases and
 * lifecycle transitions. Each state change is one mutation that applies the shared rules of
 * src/store/rules (src/core/lifecycle) to the row it just read, so Convex's serializable
 * transactions give the same guarantees as the SQLite adapter's BEGIN IMMEDIATE.
 *
 * Every function takes `secret` (secretQuery/secretMutation in functions.ts, auth.ts). Handlers are exported plain functions for tests.
 */
import { v } from "convex/values";
import type { LifecycleEvent } from "../src/core/lifecycle";
import type { Operation, Session } from "../src/core/types";
import {
  applyAcquire,
  applyActivity,
  applyRelease,
  applyRenew,
  applyTransition,
  applyUpdate,
  newSessionRecord,
} from "../src/store/rules";
import type { AcquireResult, ActivityInput, ActivityResult, NewSession, SessionPage, SessionPatch, UnsavedSession } from "../src/store/types";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { secretMutation, secretQuery } from "./functions";
import { findSessionDoc, mutateSession, sessionFromDoc, sessionToFields } from "./model";
import { activityKind, activityPolicy, hooks, lifecycleEvent, operation, provider, sessionPatch, sessionState } from "./validators";

const DEFAULT_LIST_LIMIT = 1000;
const now = v.optional(v.number());

export async function createHandler(ctx: MutationCtx, args: NewSession & { sessionId: string }): Promise<Session> {
  const session = newSessionRecord(args.sessionId, args, args.now ?? Date.now());
  await ctx.db.insert("sessions", sessionToFields(session));
  return session;
}
export const create = secretMutation({
  args: {
    sessionId: v.string(), ownerId: v.string(), provider, template: v.string(), idleTimeoutMs: v.number(),
    hooks: v.optional(v.object({ beforeCheckpoint: v.optional(hooks.fields.beforeCheckpoint), afterResume: v.optional(hooks.fields.afterResume), startCommand: hooks.fields.startCommand })),
    retention: v.optional(v.object({ keepLast: v.optional(v.number()), keepDailyDays: v.optional(v.number()) })),
    activity: v.optional(activityPolicy), flushIntervalMs: v.optional(v.nullable(v.number())),
    sandboxId: v.optional(v.nullable(v.string())), now,
  },
  handler: (ctx, args) => createHandler(ctx, args),
});

export async function getHandler(ctx: QueryCtx, args: { sessionId: string }): Promise<Session | null> {
  const doc = await findSessionDoc(ctx, args.sessionId);
  return doc ? sessionFromDoc(doc) : null;
}
export const get = secretQuery({
  args: { sessionId: v.string() },
  handler: (ctx, args) => getHandler(ctx, args),
});

export async function bySandboxHandler(ctx: QueryCtx, args: { sandboxId: string }): Promise<Session | null> {
  const docs = await ctx.db.query("sessions").withIndex("by_sandbox", (q) => q.eq("sandboxId", args.sandboxId)).collect();
  // Prefer a live session over a deleted one that once had this sandbox; then the newest.
  docs.sort((a, b) => Number(a.state === "deleted") - Number(b.state === "deleted") || b.createdAt - a.createdAt);
  return docs[0] ? sessionFromDoc(docs[0]) : null;
}
export const bySandbox = secretQuery({
  args: { sandboxId: v.string() },
  handler: (ctx, args) => bySandboxHandler(ctx, args),
});

export async function listHandler(
  ctx: QueryCtx,
  args: { ownerId?: string; state?: Session["state"]; limit?: number },
): Promise<Session[]> {
  const limit = args.limit ?? DEFAULT_LIST_LIMIT;
  const { ownerId, state } = args;
  const sessions = ctx.db.query("sessions");
  const ordered =
    ownerId !== undefined
      ? sessions.withIndex("by_owner", (q) => q.eq("ownerId", ownerId)).order("desc")
      : state !== undefined
        ? sessions.withIndex("by_state_createdAt", (q) => q.eq("state", state)).order("desc")
        : sessions.withIndex("by_createdAt").order("desc");
  const filtered = ownerId !== undefined && state !== undefined ? ordered.filter((q) => q.eq(q.field("state"), state)) : ordered;
  return (await filtered.take(limit)).map(sessionFromDoc);
}
export const list = secretQuery({
  args: { ownerId: v.optional(v.string()), state: v.optional(sessionState), limit: v.optional(v.number()) },
  handler: (ctx, args) => listHandler(ctx, args),
});

/** Every session, a page at a time, in creation order (Convex's own cursor: one index range per page). */
export async function listPageHandler(ctx: QueryCtx, args: { cursor: string | null; limit?: number }): Promise<SessionPage> {
  const page = await ctx.db.query("sessions").order("asc").paginate({ cursor: args.cursor, numItems: Math.max(1, args.limit ?? DEFAULT_LIST_LIMIT) });
  return { sessions: page.page.map(sessionFromDoc), cursor: page.isDone ? null : page.continueCursor };
}
export const listPage = secretQuery({
  args: { cursor: v.nullable(v.string()), limit: v.optional(v.number()) },
  handler: (ctx, args) => listPageHandler(ctx, args),
});

/** Reads only the idle rows: running, and idle deadline at or before `now`, via by_state_idleAt. */
export async function listIdleHandler(ctx: QueryCtx, args: { now: number; limit?: number }): Promise<Session[]> {
  const docs = await ctx.db
    .query("sessions")
    .withIndex("by_state_idleAt", (q) => q.eq("state", "running").lte("idleAt", args.now))
    .take(args.limit ?? DEFAULT_LIST_LIMIT);
  return docs.map(sessionFromDoc);
}
export const listIdle = secretQuery({
  args: { now: v.number(), limit: v.optional(v.number()) },
  handler: (ctx, args) => listIdleHandler(ctx, args),
});

export async function listPausedBeforeHandler(ctx: QueryCtx, args: { before: number; limit?: number }): Promise<Session[]> {
  const docs = await ctx.db
    .query("sessions")
    .withIndex("by_state_pausedAt", (q) => q.eq("state", "paused").lte("pausedAt", args.before))
    .take(args.limit ?? DEFAULT_LIST_LIMIT);
  return docs.map(sessionFromDoc);
}
export const listPausedBefore = secretQuery({
  args: { before: v.number(), limit: v.optional(v.number()) },
  handler: (ctx, args) => listPausedBeforeHandler(ctx, args),
});

/**
 * Running sessions whose oldest pending change is due for a flush at `now`: two index ranges
 * (by_state_unsavedGlobalAt for the deployment's interval, by_state_flushDueAt for sessions'
 * own), each at most `limit` documents: O(due sessions) whatever the fleet.
 */
export async function listUnsavedHandler(
  ctx: QueryCtx,
  args: { now: number; globalIntervalMs: number; limit?: number },
): Promise<UnsavedSession[]> {
  const limit = args.limit ?? DEFAULT_LIST_LIMIT;
  const global =
    args.globalIntervalMs > 0
      ? await ctx.db
          .query("sessions")
          .withIndex("by_state_unsavedGlobalAt", (q) => q.eq("state", "running").gte("unsavedGlobalAt", 0).lte("unsavedGlobalAt", args.now - args.globalIntervalMs))
          .take(limit)
      : [];
  const own = await ctx.db
    .query("sessions")
    .withIndex("by_state_flushDueAt", (q) => q.eq("state", "running").gte("flushDueAt", 0).lte("flushDueAt", args.now))
    .take(limit);
  return [...global, ...own].slice(0, limit).map((doc) => ({ session: sessionFromDoc(doc), unsavedSince: doc.unsavedSince ?? 0 }));
}
export const listUnsaved = secretQuery({
  args: { now: v.number(), globalIntervalMs: v.number(), limit: v.optional(v.number()) },
  handler: (ctx, args) => listUnsavedHandler(ctx, args),
});

/** Where the fleet-wide job `name` stopped (retention's listPage cursor), or null. */
export async function jobCursorHandler(ctx: QueryCtx, args: { name: string }): Promise<string | null> {
  const doc = await ctx.db.query("jobCursors").withIndex("by_name", (q) => q.eq("name", args.name)).unique();
  return doc?.cursor ?? null;
}
export const jobCursor = secretQuery({ args: { name: v.string() }, handler: (ctx, args) => jobCursorHandler(ctx, args) });

export async function setJobCursorHandler(ctx: MutationCtx, args: { name: string; cursor: string | null; now?: number }): Promise<null> {
  const doc = await ctx.db.query("jobCursors").withIndex("by_name", (q) => q.eq("name", args.name)).unique();
  const fields = { name: args.name, cursor: args.cursor, updatedAt: args.now ?? Date.now() };
  if (doc) await ctx.db.replace(doc._id, fields);
  else await ctx.db.insert("jobCursors", fields);
  return null;
}
export const setJobCursor = secretMutation({
  args: { name: v.string(), cursor: v.nullable(v.string()), now },
  handler: (ctx, args) => setJobCursorHandler(ctx, args),
});

/** Coalesced: the mutation writes only when the rules say so; otherwise it only read the row. */
export function recordActivityHandler(ctx: MutationCtx, args: ActivityInput & { sessionId: string }): Promise<ActivityResult> {
  const { sessionId, ...input } = args;
  return mutateSession(ctx, sessionId, (session) => {
    const outcome = applyActivity(session, input);
    return { write: outcome.write, result: { session: outcome.session, written: outcome.write !== null, wake: outcome.wake } };
  });
}
export const recordActivity = secretMutation({
  args: {
    sessionId: v.string(), at: v.number(), kind: activityKind, coalesceMs: v.number(),
    cpuCores: v.optional(v.number()), cpuWindowMs: v.optional(v.number()),
  },
  handler: (ctx, args) => recordActivityHandler(ctx, args),
});

export function acquireLeaseHandler(
  ctx: MutationCtx,
  args: { sessionId: string; holder: string; operation: Operation; ttlMs: number; now?: number },
): Promise<AcquireResult> {
  const { sessionId, now, ...request } = args;
  return mutateSession(ctx, sessionId, (session) => {
    const outcome = applyAcquire(session, { ...request, now: now ?? Date.now() });
    return { write: outcome.ok ? outcome.session : null, result: outcome };
  });
}
export const acquireLease = secretMutation({
  args: { sessionId: v.string(), holder: v.string(), operation, ttlMs: v.number(), now },
  handler: (ctx, args) => acquireLeaseHandler(ctx, args),
});

export function renewLeaseHandler(
  ctx: MutationCtx,
  args: { sessionId: string; holder: string; ttlMs: number; now?: number },
): Promise<Session> {
  return mutateSession(ctx, args.sessionId, (session) => {
    const next = applyRenew(session, args.holder, args.ttlMs, args.now ?? Date.now());
    return { write: next, result: next };
  });
}
export const renewLease = secretMutation({
  args: { sessionId: v.string(), holder: v.string(), ttlMs: v.number(), now },
  handler: (ctx, args) => renewLeaseHandler(ctx, args),
});

/** Releasing a lease that is not ours (any more) writes nothing. */
export function releaseLeaseHandler(ctx: MutationCtx, args: { sessionId: string; holder: string }): Promise<null> {
  return mutateSession(ctx, args.sessionId, (session) => ({ write: applyRelease(session, args.holder, Date.now()), result: null }));
}
export const releaseLease = secretMutation({
  args: { sessionId: v.string(), holder: v.string() },
  handler: (ctx, args) => releaseLeaseHandler(ctx, args),
});

export function transitionHandler(
  ctx: MutationCtx,
  args: { sessionId: string; event: LifecycleEvent; holder?: string; patch?: SessionPatch; now?: number },
): Promise<Session> {
  return mutateSession(ctx, args.sessionId, (session) => {
    const next = applyTransition(session, args.event, { holder: args.holder, patch: args.patch, now: args.now ?? Date.now() });
    return { write: next, result: next };
  });
}
export const transition = secretMutation({
  args: { sessionId: v.string(), event: lifecycleEvent, holder: v.optional(v.string()), patch: v.optional(sessionPatch), now },
  handler: (ctx, args) => transitionHandler(ctx, args),
});

export function updateHandler(
  ctx: MutationCtx,
  args: { sessionId: string; patch: SessionPatch; holder?: string; now?: number },
): Promise<Session> {
  return mutateSession(ctx, args.sessionId, (session) => {
    const next = applyUpdate(session, args.patch, { holder: args.holder, now: args.now ?? Date.now() });
    return { write: next, result: next };
  });
}
export const update = secretMutation({
  args: { sessionId: v.string(), patch: sessionPatch, holder: v.optional(v.string()), now },
  handler: (ctx, args) => updateHandler(ctx, args),
});
