/**
 * Checkpoint rows. A checkpoint is created pending and committed once its manifest is durable in
 * the object store; the commit also moves the session's latest-checkpoint pointer, in the same
 * mutation, and never back to an older checkpoint. Re-committing is a no-op (step retries).
 */
import { v } from "convex/values";
import { ConflictError, NotFoundError } from "../src/core/errors";
import type { CheckpointRecord } from "../src/core/types";
import type { NewCheckpoint } from "../src/store/types";
import type { Doc } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { secretMutation, secretQuery } from "./functions";
import { loadSessionDoc } from "./model";
import { refreshStats } from "./stats";
import { checkpointKind } from "./validators";


function fromDoc(doc: Doc<"checkpoints">): CheckpointRecord {
  const { _id, _creationTime, checkpointId, ...rest } = doc;
  return { id: checkpointId, ...rest };
}

async function findDoc(ctx: QueryCtx, checkpointId: string) {
  return ctx.db.query("checkpoints").withIndex("by_checkpointId", (q) => q.eq("checkpointId", checkpointId)).unique();
}

async function loadDoc(ctx: QueryCtx, checkpointId: string) {
  const doc = await findDoc(ctx, checkpointId);
  if (!doc) throw new NotFoundError(`No checkpoint '${checkpointId}'`, { details: { checkpointId } });
  return doc;
}

/** Points the session at its newest committed checkpoint. */
async function repointLatest(ctx: MutationCtx, sessionId: string, now: number): Promise<void> {
  const newest = await ctx.db
    .query("checkpoints")
    .withIndex("by_session", (q) => q.eq("sessionId", sessionId))
    .order("desc")
    .filter((q) => q.eq(q.field("status"), "committed"))
    .first();
  const session = await loadSessionDoc(ctx, sessionId);
  await ctx.db.patch(session._id, { latestCheckpointId: newest?.checkpointId ?? null, updatedAt: now });
}

export async function createHandler(ctx: MutationCtx, args: NewCheckpoint): Promise<CheckpointRecord> {
  await loadSessionDoc(ctx, args.sessionId);
  const existing = await findDoc(ctx, args.id);
  if (existing) {
    if (existing.sessionId !== args.sessionId) throw new ConflictError("CONFLICT", `Checkpoint '${args.id}' belongs to another session`);
    return fromDoc(existing);
  }
  const record: CheckpointRecord = {
    id: args.id, sessionId: args.sessionId, parentId: args.parentId, kind: args.kind, label: args.label ?? null,
    status: "pending", pinned: false, files: 0, bytes: 0, uploadedBytes: 0,
    createdAt: args.now ?? Date.now(), committedAt: null, deletedAt: null,
  };
  const { id, ...rest } = record;
  await ctx.db.insert("checkpoints", { checkpointId: id, ...rest });
  return record;
}
export const create = secretMutation({
  args: {
    id: v.string(), sessionId: v.string(), parentId: v.nullable(v.string()), kind: checkpointKind,
    label: v.optional(v.nullable(v.string())), now: v.optional(v.number()),
  },
  handler: (ctx, args) => createHandler(ctx, args),
});

export async function commitHandler(
  ctx: MutationCtx,
  args: { checkpointId: string; files: number; bytes: number; uploadedBytes: number; now: number },
): Promise<CheckpointRecord> {
  const doc = await loadDoc(ctx, args.checkpointId);
  if (doc.status === "committed") return fromDoc(doc);
  if (doc.status === "deleted") throw new ConflictError("CONFLICT", `Checkpoint '${args.checkpointId}' was deleted`);
  const patch = { status: "committed" as const, files: args.files, bytes: args.bytes, uploadedBytes: args.uploadedBytes, committedAt: args.now };
  await ctx.db.patch(doc._id, patch);
  await repointLatest(ctx, doc.sessionId, args.now);
  await refreshStats(ctx, doc.sessionId);
  return fromDoc({ ...doc, ...patch });
}
export const commit = secretMutation({
  args: { checkpointId: v.string(), files: v.number(), bytes: v.number(), uploadedBytes: v.number(), now: v.optional(v.number()) },
  handler: (ctx, { now, ...args }) => commitHandler(ctx, { ...args, now: now ?? Date.now() }),
});

export const get = secretQuery({
  args: { checkpointId: v.string() },
  handler: async (ctx, { checkpointId }) => {
    const doc = await findDoc(ctx, checkpointId);
    return doc ? fromDoc(doc) : null;
  },
});

export async function listHandler(ctx: QueryCtx, args: { sessionId: string; includeDeleted?: boolean }): Promise<CheckpointRecord[]> {
  const docs = await ctx.db.query("checkpoints").withIndex("by_session", (q) => q.eq("sessionId", args.sessionId)).order("desc").collect();
  return docs.filter((d) => args.includeDeleted || d.status !== "deleted").map(fromDoc);
}
export const list = secretQuery({
  args: { sessionId: v.string(), includeDeleted: v.optional(v.boolean()) },
  handler: (ctx, args) => listHandler(ctx, args),
});

export async function markDeletedHandler(ctx: MutationCtx, args: { checkpointId: string; now: number }): Promise<null> {
  const doc = await loadDoc(ctx, args.checkpointId);
  if (doc.status === "deleted") return null;
  await ctx.db.patch(doc._id, { status: "deleted", deletedAt: args.now });
  const session = await loadSessionDoc(ctx, doc.sessionId);
  if (session.latestCheckpointId === args.checkpointId) await repointLatest(ctx, doc.sessionId, args.now);
  await refreshStats(ctx, doc.sessionId);
  return null;
}
export const markDeleted = secretMutation({
  args: { checkpointId: v.string(), now: v.optional(v.number()) },
  handler: (ctx, { checkpointId, now }) => markDeletedHandler(ctx, { checkpointId, now: now ?? Date.now() }),
});

export const setPinned = secretMutation({
  args: { checkpointId: v.string(), pinned: v.boolean() },
  handler: async (ctx, { checkpointId, pinned }) => {
    const doc = await loadDoc(ctx, checkpointId);
    await ctx.db.patch(doc._id, { pinned });
    return fromDoc({ ...doc, pinned });
  },
});
