/**
 * Change rows: one path that may differ from the latest checkpoint. Pending while checkpointId is
 * null; the hibernate workflow marks those recorded up to a time as flushed by its checkpoint,
 * with the flush time (flushedAt) that history pruning (history.ts) ages them by.
 * The by_session_pending index (sessionId, checkpointId, at) reads only a session's pending rows.
 */
import { v } from "convex/values";
import type { ChangeRecord } from "../src/core/types";
import type { Doc } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { secretMutation, secretQuery } from "./functions";
import { loadSessionDoc, sessionFromDoc, unsavedFields } from "./model";
import { FLUSH_BATCH } from "../src/store/rules";
import { changeOperation } from "./validators";


function fromDoc(doc: Doc<"changes">): ChangeRecord {
  const { _id, _creationTime, changeId, flushedAt: _flushedAt, ...rest } = doc;
  return { id: changeId, ...rest };
}

const newChange = v.object({
  changeId: v.string(),
  path: v.string(),
  operation: changeOperation,
  size: v.nullable(v.number()),
  at: v.number(),
});

export async function recordHandler(
  ctx: MutationCtx,
  args: { sessionId: string; changes: { changeId: string; path: string; operation: ChangeRecord["operation"]; size: number | null; at: number }[] },
): Promise<number> {
  const session = await loadSessionDoc(ctx, args.sessionId);
  for (const change of args.changes) {
    await ctx.db.insert("changes", { ...change, sessionId: args.sessionId, checkpointId: null, flushedAt: null });
  }
  if (args.changes.length > 0) {
    const oldest = args.changes.reduce((min, c) => Math.min(min, c.at), session.unsavedSince ?? Infinity);
    await ctx.db.patch(session._id, unsavedFields(sessionFromDoc(session), oldest));
  }
  return args.changes.length;
}
export const record = secretMutation({
  args: { sessionId: v.string(), changes: v.array(newChange) },
  handler: (ctx, args) => recordHandler(ctx, args),
});

export async function listPendingHandler(ctx: QueryCtx, args: { sessionId: string; limit?: number }): Promise<ChangeRecord[]> {
  const docs = await ctx.db
    .query("changes")
    .withIndex("by_session_pending", (q) => q.eq("sessionId", args.sessionId).eq("checkpointId", null))
    .take(args.limit ?? 10_000);
  return docs.map(fromDoc);
}
export const listPending = secretQuery({
  args: { sessionId: v.string(), limit: v.optional(v.number()) },
  handler: (ctx, args) => listPendingHandler(ctx, args),
});

/**
 * Marks pending rows recorded at or before `upTo`. Convex limits the writes of one mutation, so
 * a very large backlog is marked in batches: the adapter calls again while a full batch came back.
 */
export async function markFlushedHandler(
  ctx: MutationCtx,
  args: { sessionId: string; checkpointId: string; upTo: number; now?: number },
): Promise<number> {
  const session = await loadSessionDoc(ctx, args.sessionId);
  const flushedAt = args.now ?? Date.now();
  const docs = await ctx.db
    .query("changes")
    .withIndex("by_session_pending", (q) => q.eq("sessionId", args.sessionId).eq("checkpointId", null).lte("at", args.upTo))
    .take(FLUSH_BATCH);
  for (const doc of docs) await ctx.db.patch(doc._id, { checkpointId: args.checkpointId, flushedAt });
  // The oldest row still pending (this transaction sees its own patches): one index read.
  const left = await ctx.db
    .query("changes")
    .withIndex("by_session_pending", (q) => q.eq("sessionId", args.sessionId).eq("checkpointId", null))
    .first();
  await ctx.db.patch(session._id, unsavedFields(sessionFromDoc(session), left?.at ?? null));
  return docs.length;
}
export const markFlushed = secretMutation({
  args: { sessionId: v.string(), checkpointId: v.string(), upTo: v.number(), now: v.optional(v.number()) },
  handler: (ctx, args) => markFlushedHandler(ctx, args),
});
