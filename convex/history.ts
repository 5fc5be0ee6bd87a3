/**
 * History pruning: one mutation (one transaction) examines at most `limit` rows of one table, in
 * key order after the cursor: flushed change rows by (flushedAt, changeId), then finished runs by
 * (endedAt, runId). Each row is kept or deleted by src/core/history; a run goes with its steps,
 * and one call deletes at most HISTORY_WRITE_BUDGET rows, well under Convex's per-mutation limits.
 * The same scan and rules run in src/store/sqlite-history.ts.
 */
import { v } from "convex/values";
import { decideChange, decideRun, HISTORY_BATCH, HISTORY_WRITE_BUDGET } from "../src/core/history";
import type { Session } from "../src/core/types";
import { decodeHistoryCursor, nextHistoryCursor } from "../src/store/rules";
import type { HistoryPruneResult } from "../src/store/types";
import type { Doc } from "./_generated/dataModel";
import type { MutationCtx } from "./_generated/server";
import { secretMutation } from "./functions";
import { findSessionDoc, sessionFromDoc } from "./model";

type Key = { at: number; id: string };

/** Up to `limit` documents of an index on (time, id), with time < before, in order after `after`. */
async function scan<T>(
  first: (after: Key | null, take: number) => Promise<T[]>,
  rest: (after: Key, take: number) => Promise<T[]>,
  after: Key | null,
  limit: number,
): Promise<T[]> {
  // An exact keyset: the rest of `after`'s time by id, then the later times.
  const head = await first(after, limit);
  if (after === null || head.length >= limit) return head;
  return [...head, ...(await rest(after, limit - head.length))];
}

export async function pruneHandler(
  ctx: MutationCtx,
  args: { changesFlushedBefore: number; runsEndedBefore: number; cursor?: string | null; limit?: number; now?: number },
): Promise<HistoryPruneResult> {
  const now = args.now ?? Date.now();
  const limit = Math.max(1, args.limit ?? HISTORY_BATCH);
  const cursor = decodeHistoryCursor(args.cursor);
  const sessions = new Map<string, Session | null>();
  const session = async (id: string | null) => {
    if (id === null) return null;
    if (!sessions.has(id)) {
      const doc = await findSessionDoc(ctx, id);
      sessions.set(id, doc ? sessionFromDoc(doc) : null);
    }
    return sessions.get(id)!;
  };
  const result: HistoryPruneResult = { changes: 0, runs: 0, steps: 0, kept: 0, cursor: null };
  let last: Key | null = null;
  let examined = 0;
  let writes = 0;

  if (cursor.phase === "changes") {
    const before = args.changesFlushedBefore;
    const docs = await scan<Doc<"changes">>(
      (after, take) =>
        after === null
          ? ctx.db.query("changes").withIndex("by_flushedAt", (q) => q.gte("flushedAt", 0).lt("flushedAt", before)).take(take)
          : ctx.db.query("changes").withIndex("by_flushedAt", (q) => q.eq("flushedAt", after.at).gt("changeId", after.id)).take(take),
      (after, take) =>
        ctx.db.query("changes").withIndex("by_flushedAt", (q) => q.gt("flushedAt", after.at).lt("flushedAt", before)).take(take),
      cursor.after,
      limit,
    );
    for (const doc of docs) {
      if (writes >= HISTORY_WRITE_BUDGET) break;
      examined++;
      last = { at: doc.flushedAt!, id: doc.changeId };
      const decision = decideChange(
        { checkpointId: doc.checkpointId, flushedAt: doc.flushedAt ?? null },
        { before, session: await session(doc.sessionId), now },
      );
      if (!decision.prune) {
        result.kept++;
        continue;
      }
      await ctx.db.delete(doc._id);
      writes++;
      result.changes++;
    }
  } else {
    const before = args.runsEndedBefore;
    const docs = await scan<Doc<"runs">>(
      (after, take) =>
        after === null
          ? ctx.db.query("runs").withIndex("by_endedAt", (q) => q.gte("endedAt", 0).lt("endedAt", before)).take(take)
          : ctx.db.query("runs").withIndex("by_endedAt", (q) => q.eq("endedAt", after.at).gt("runId", after.id)).take(take),
      (after, take) => ctx.db.query("runs").withIndex("by_endedAt", (q) => q.gt("endedAt", after.at).lt("endedAt", before)).take(take),
      cursor.after,
      limit,
    );
    for (const doc of docs) {
      if (writes >= HISTORY_WRITE_BUDGET) break;
      examined++;
      last = { at: doc.endedAt!, id: doc.runId };
      const newest = await ctx.db
        .query("runs")
        .withIndex("by_session_workflow", (q) => q.eq("sessionId", doc.sessionId).eq("workflow", doc.workflow))
        .order("desc")
        .first();
      const decision = decideRun(
        { id: doc.runId, status: doc.status, endedAt: doc.endedAt },
        { before, newestOfKindId: newest?.runId ?? null, session: await session(doc.sessionId), now },
      );
      if (!decision.prune) {
        result.kept++;
        continue;
      }
      const steps = await ctx.db.query("runSteps").withIndex("by_run_position", (q) => q.eq("runId", doc.runId)).collect();
      for (const step of steps) await ctx.db.delete(step._id);
      await ctx.db.delete(doc._id);
      writes += steps.length + 1;
      result.steps += steps.length;
      result.runs++;
    }
  }
  result.cursor = nextHistoryCursor(cursor.phase, examined === limit || writes >= HISTORY_WRITE_BUDGET, last);
  return result;
}

export const prune = secretMutation({
  args: {
    changesFlushedBefore: v.number(),
    runsEndedBefore: v.number(),
    cursor: v.optional(v.nullable(v.string())),
    limit: v.optional(v.number()),
    now: v.optional(v.number()),
  },
  handler: (ctx, args) => pruneHandler(ctx, args),
});
