/**
 * One-off data migrations an operator runs after a deploy, with the deployment's admin key:
 *   npx convex run migrations:backfillUnsaved
 * Internal functions: no secret, and nothing but the admin key (the dashboard, `convex run`) can
 * call them. Each call handles one page of documents and schedules the next page, so a fleet of
 * any size stays inside one transaction's limits per call.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { internalMutation, type MutationCtx } from "./_generated/server";
import { sessionFromDoc, unsavedFields } from "./model";

/**
 * Session documents written before `unsavedSince` existed have no such field: the sessions list
 * shows "–" for them and the flush indexes (by_state_unsavedGlobalAt, by_state_flushDueAt) miss
 * them until their next change. This sets the fields from the session's oldest pending change row
 * (none: null, every change is in a checkpoint). Documents that have the field are left as they
 * are, so running it twice changes nothing.
 */
export async function backfillUnsavedHandler(
  ctx: MutationCtx,
  { cursor = null, pageSize = 200 }: { cursor?: string | null; pageSize?: number },
): Promise<{ updated: number; isDone: boolean }> {
  const page = await ctx.db.query("sessions").paginate({ cursor, numItems: pageSize });
  let updated = 0;
  for (const doc of page.page) {
    if (doc.unsavedSince !== undefined) continue;
    // by_session_pending orders a session's pending rows by time: the first is the oldest.
    const oldest = await ctx.db
      .query("changes")
      .withIndex("by_session_pending", (q) => q.eq("sessionId", doc.sessionId).eq("checkpointId", null))
      .first();
    await ctx.db.patch(doc._id, unsavedFields(sessionFromDoc(doc), oldest?.at ?? null));
    updated++;
  }
  if (!page.isDone) await ctx.scheduler.runAfter(0, internal.migrations.backfillUnsaved, { cursor: page.continueCursor, pageSize });
  return { updated, isDone: page.isDone };
}

export const backfillUnsaved = internalMutation({
  args: { cursor: v.optional(v.union(v.string(), v.null())), pageSize: v.optional(v.number()) },
  handler: (ctx, args) => backfillUnsavedHandler(ctx, args),
});
