/**
 * The sessionStats table: each session's checkpoint summary (src/store/summary), rewritten in the
 * same mutation as every checkpoint commit or deletion, so that a dashboard list of N sessions
 * reads N single-document index ranges instead of N checkpoint lists.
 *
 * A missing or stale row (a deployment that predates the table, or a latest pointer moved by an
 * update patch) is recomputed from the session's checkpoints at read time: correct, only slower.
 */
import { v } from "convex/values";
import { summarise, type SessionSummary } from "../src/store/summary";
import type { Doc } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { secretQuery } from "./functions";
import { findSessionDoc } from "./model";

export const checkpointSummary = v.object({
  id: v.string(),
  bytes: v.number(),
  files: v.number(),
  uploadedBytes: v.number(),
  committedAt: v.nullable(v.number()),
  label: v.nullable(v.string()),
});

export const sessionStatsFields = {
  sessionId: v.string(),
  latestCheckpoint: v.nullable(checkpointSummary),
  storage: v.object({ logicalBytes: v.number(), describedBytes: v.number(), storedBytes: v.number(), checkpoints: v.number() }),
};
const sessionSummary = v.object(sessionStatsFields);

async function compute(ctx: QueryCtx, session: { id: string; latestCheckpointId: string | null }): Promise<SessionSummary> {
  const docs = await ctx.db.query("checkpoints").withIndex("by_session", (q) => q.eq("sessionId", session.id)).order("desc").collect();
  return summarise(session, docs.map((d) => ({ ...d, id: d.checkpointId })));
}

const fromDoc = ({ _id, _creationTime, ...summary }: Doc<"sessionStats">): SessionSummary => summary;

/** Rewrites a session's row; checkpoints.ts calls it after every commit and deletion. */
export async function refreshStats(ctx: MutationCtx, sessionId: string): Promise<void> {
  const session = await findSessionDoc(ctx, sessionId);
  if (!session) return;
  const summary = await compute(ctx, { id: sessionId, latestCheckpointId: session.latestCheckpointId });
  const existing = await ctx.db.query("sessionStats").withIndex("by_sessionId", (q) => q.eq("sessionId", sessionId)).unique();
  if (existing) await ctx.db.replace(existing._id, summary);
  else await ctx.db.insert("sessionStats", summary);
}

/** One index range per session when the rows are current. */
export async function summariesHandler(
  ctx: QueryCtx,
  args: { sessions: { id: string; latestCheckpointId: string | null }[] },
): Promise<SessionSummary[]> {
  return Promise.all(
    args.sessions.map(async (session) => {
      const doc = await ctx.db.query("sessionStats").withIndex("by_sessionId", (q) => q.eq("sessionId", session.id)).unique();
      const current = doc !== null && (session.latestCheckpointId === null || doc.latestCheckpoint?.id === session.latestCheckpointId);
      return current ? fromDoc(doc) : compute(ctx, session);
    }),
  );
}
export const summaries = secretQuery({
  args: { sessions: v.array(v.object({ id: v.string(), latestCheckpointId: v.nullable(v.string()) })) },
  returns: v.array(sessionSummary),
  handler: (ctx, args) => summariesHandler(ctx, args),
});
