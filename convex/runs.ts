/**
 * Runs of the lifecycle workflows (hibernate, resume, restore, sweep…) and their steps: what the
 * dashboard shows. Steps live in runSteps, one row per step name, upserted by recordStep and
 * listed in the order they were first recorded.
 */
import type { IndexRange } from "convex/server";
import { v } from "convex/values";
import { NotFoundError } from "../src/core/errors";
import type { RunProgress, RunRecord, RunStatus, StepRecord } from "../src/core/types";
import type { Doc } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { secretMutation, secretQuery } from "./functions";
import { finishedRunStatus, runProgress, runStatus, step } from "./validators";


async function steps(ctx: QueryCtx, runId: string): Promise<StepRecord[]> {
  const docs = await ctx.db.query("runSteps").withIndex("by_run_position", (q) => q.eq("runId", runId)).collect();
  return docs.map(({ _id, _creationTime, runId: _run, position: _position, ...rest }) => rest);
}

async function fromDoc(ctx: QueryCtx, doc: Doc<"runs">, withSteps = true): Promise<RunRecord> {
  const { _id, _creationTime, runId, progress, ...rest } = doc;
  return { id: runId, ...rest, progress: progress ?? null, steps: withSteps ? await steps(ctx, runId) : [] };
}

async function findDoc(ctx: QueryCtx, runId: string) {
  return ctx.db.query("runs").withIndex("by_runId", (q) => q.eq("runId", runId)).unique();
}

async function loadDoc(ctx: QueryCtx, runId: string) {
  const doc = await findDoc(ctx, runId);
  if (!doc) throw new NotFoundError(`No run '${runId}'`, { details: { runId } });
  return doc;
}

export async function createHandler(
  ctx: MutationCtx,
  args: { runId: string; workflow: string; sessionId: string | null; input: string; externalId: string | null; now?: number },
): Promise<RunRecord> {
  const { now, ...fields } = args;
  const existing = await findDoc(ctx, args.runId);
  if (existing) return fromDoc(ctx, existing); // the engine re-creating a run it journaled
  const at = now ?? Date.now();
  const id = await ctx.db.insert("runs", {
    ...fields, status: "running", result: null, error: null, startedAt: at, endedAt: null, updatedAt: at, progress: null,
  });
  return fromDoc(ctx, (await ctx.db.get(id))!);
}
export const create = secretMutation({
  args: {
    runId: v.string(), workflow: v.string(), sessionId: v.nullable(v.string()), input: v.string(),
    externalId: v.nullable(v.string()), now: v.optional(v.number()),
  },
  handler: (ctx, args) => createHandler(ctx, args),
});

export const get = secretQuery({
  args: { runId: v.string() },
  handler: async (ctx, { runId }) => {
    const doc = await findDoc(ctx, runId);
    return doc ? fromDoc(ctx, doc) : null;
  },
});

/** The part of Convex's range builder that is left once the equality fields are given. */
interface StartedAtUpper extends IndexRange {
  lt(field: "startedAt", value: number): IndexRange;
}
interface StartedAtRange extends StartedAtUpper {
  gte(field: "startedAt", value: number): StartedAtUpper;
}

export async function listHandler(
  ctx: QueryCtx,
  args: { sessionId?: string; status?: RunStatus; workflow?: string; startedAfter?: number; startedBefore?: number; limit?: number; steps?: boolean },
): Promise<RunRecord[]> {
  const { sessionId, status, workflow, startedAfter, startedBefore } = args;
  const runs = ctx.db.query("runs");
  // Every runs index ends in startedAt: the time window narrows the index range itself.
  const window = (q: StartedAtRange): IndexRange => {
    const lower = startedAfter === undefined ? q : q.gte("startedAt", startedAfter);
    return startedBefore === undefined ? lower : lower.lt("startedAt", startedBefore);
  };
  // The most selective filter picks the index; the others filter the rows read from it.
  const ordered =
    sessionId !== undefined && workflow !== undefined
      ? runs.withIndex("by_session_workflow", (q) => window(q.eq("sessionId", sessionId).eq("workflow", workflow)))
      : sessionId !== undefined
        ? runs.withIndex("by_session", (q) => window(q.eq("sessionId", sessionId)))
        : workflow !== undefined
          ? runs.withIndex("by_workflow", (q) => window(q.eq("workflow", workflow)))
          : status !== undefined
            ? runs.withIndex("by_status", (q) => window(q.eq("status", status)))
            : runs.withIndex("by_startedAt", (q) => window(q));
  const docs = await ordered
    .order("desc")
    .filter((q) =>
      q.and(
        status === undefined ? true : q.eq(q.field("status"), status),
        workflow === undefined ? true : q.eq(q.field("workflow"), workflow),
      ),
    )
    .take(args.limit ?? 100);
  // Each run's steps are one index range: a list of 5,000 with steps passes Convex's 4,096.
  return Promise.all(docs.map((doc) => fromDoc(ctx, doc, args.steps !== false)));
}
export const list = secretQuery({
  args: {
    sessionId: v.optional(v.string()), status: v.optional(runStatus), workflow: v.optional(v.string()),
    startedAfter: v.optional(v.number()), startedBefore: v.optional(v.number()), limit: v.optional(v.number()), steps: v.optional(v.boolean()),
  },
  handler: (ctx, args) => listHandler(ctx, args),
});

export async function recordStepHandler(ctx: MutationCtx, args: { runId: string; step: StepRecord }): Promise<null> {
  const run = await loadDoc(ctx, args.runId);
  const existing = await ctx.db
    .query("runSteps")
    .withIndex("by_run_name", (q) => q.eq("runId", args.runId).eq("name", args.step.name))
    .unique();
  if (existing) {
    await ctx.db.patch(existing._id, args.step);
  } else {
    const count = (await ctx.db.query("runSteps").withIndex("by_run_position", (q) => q.eq("runId", args.runId)).collect()).length;
    await ctx.db.insert("runSteps", { runId: args.runId, position: count, ...args.step });
  }
  await ctx.db.patch(run._id, { updatedAt: Date.now() });
  return null;
}
export const recordStep = secretMutation({
  args: { runId: v.string(), step },
  handler: (ctx, args) => recordStepHandler(ctx, args),
});

export async function finishHandler(
  ctx: MutationCtx,
  args: { runId: string; status: Exclude<RunStatus, "queued" | "running">; result: string | null; error: string | null; now?: number },
): Promise<RunRecord> {
  const { runId, now, ...outcome } = args;
  const doc = await loadDoc(ctx, runId);
  const at = now ?? Date.now();
  await ctx.db.patch(doc._id, { ...outcome, endedAt: at, updatedAt: at });
  return fromDoc(ctx, (await ctx.db.get(doc._id))!);
}
export const finish = secretMutation({
  args: { runId: v.string(), status: finishedRunStatus, result: v.nullable(v.string()), error: v.nullable(v.string()), now: v.optional(v.number()) },
  handler: (ctx, args) => finishHandler(ctx, args),
});

export async function setStatusHandler(ctx: MutationCtx, args: { runId: string; status: RunStatus; now?: number }): Promise<null> {
  const doc = await loadDoc(ctx, args.runId);
  await ctx.db.patch(doc._id, { status: args.status, updatedAt: args.now ?? Date.now() });
  return null;
}
export const setStatus = secretMutation({
  args: { runId: v.string(), status: runStatus, now: v.optional(v.number()) },
  handler: (ctx, args) => setStatusHandler(ctx, args),
});

// Written every ~half second while a checkpoint step runs: it patches only the progress, leaving
// updatedAt alone, so the run's history does not move with each progress write.
export async function setProgressHandler(ctx: MutationCtx, args: { runId: string; progress: RunProgress | null }): Promise<null> {
  const doc = await loadDoc(ctx, args.runId);
  await ctx.db.patch(doc._id, { progress: args.progress });
  return null;
}
export const setProgress = secretMutation({
  args: { runId: v.string(), progress: v.nullable(runProgress) },
  handler: (ctx, args) => setProgressHandler(ctx, args),
});
