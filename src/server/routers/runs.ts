/**
 * runs: the workflow runs (hibernate, resume, restore, sweep…) with their outcomes.
 * - `list`: one session's runs, newest first, with their steps (the session page).
 * - `search`: every run the caller may see, filtered by workflow, status, session and a startedAt
 *   window, without steps: one bounded, index-backed store read (the runs page).
 * - `get`: one run with its steps (the waterfall of the run being viewed, and only that one).
 * When Inngest runs the workflows each run carries a link to it in Inngest's dashboard
 * (TORPOR_INNGEST_DASHBOARD_URL, or Inngest Cloud / the dev server's default).
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Config } from "../../core/config";
import type { RunRecord } from "../../core/types";
import { canAccess, ownedSession, ownerFilter } from "../access";
import { listLimit, sessionId } from "../inputs";
import { runOutcome } from "../run-outcome";
import { authedProcedure, router } from "../trpc";

export function inngestRunUrl(config: Config, run: Pick<RunRecord, "externalId">): string | null {
  const engine = config.workflowEngine;
  if (engine.kind !== "inngest" || run.externalId === null) return null;
  const base = engine.dashboardUrl ?? (engine.dev ? "http://localhost:8288" : "https://app.inngest.com/env/production");
  return `${base.replace(/\/+$/, "")}/runs/${encodeURIComponent(run.externalId)}`;
}

/**
 * The workflow ids, for the runs page's filter. Written out rather than read from src/workflows so
 * that the API route does not bundle the workflows' code; tests/server/runs-search.test.ts checks
 * it against createWorkflows.
 */
export const WORKFLOW_IDS = [
  "idle-sweep", "hibernate-session", "archive-session", "resume-session", "snapshot-session", "restore-session", "delete-session", "retention",
  "flush-session",
] as const;

const view = (config: Config, run: RunRecord) => ({ ...run, ...runOutcome(run), inngestUrl: inngestRunUrl(config, run) });

/** A user's search reads this many times the page (at most 1,000) and keeps the runs of their own sessions. */
const USER_OVERREAD = 5;
/** The sessions a user's search may attribute runs to (listSessions' cap). */
const USER_SESSIONS = 1000;

/** Where the next (older) page starts, or null when this read was not full (nothing older). */
const nextBefore = (read: RunRecord[], limit: number): number | null => (read.length < limit ? null : read[read.length - 1]!.startedAt);

const runId = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:-]+$/, "not a run id");

export const runsRouter = router({
  list: authedProcedure.input(z.object({ sessionId, limit: listLimit })).query(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    const runs = await ctx.deps.store.listRuns({ sessionId: session.id, limit: input.limit });
    return runs.map((run) => view(ctx.deps.config, run));
  }),

  search: authedProcedure
    .input(
      z
        .object({
          sessionId: sessionId.optional(),
          workflow: z.string().min(1).max(100).optional(),
          status: z.enum(["queued", "running", "completed", "failed", "cancelled"]).optional(),
          startedAfter: z.number().int().min(0).optional(),
          startedBefore: z.number().int().min(0).optional(),
          limit: z.number().int().min(1).max(200).default(50),
        })
        .default({ limit: 50 }),
    )
    .query(async ({ ctx, input }) => {
      const { store, config } = ctx.deps;
      const { limit, ...filter } = input;
      const workflows = [...WORKFLOW_IDS];
      const owner = ownerFilter(ctx.principal);
      if (filter.sessionId !== undefined) await ownedSession(ctx, filter.sessionId);
      if (owner === undefined || filter.sessionId !== undefined) {
        const runs = await store.listRuns({ ...filter, limit, steps: false });
        return { runs: runs.map((r) => view(config, r)), workflows, nextBefore: nextBefore(runs, limit) };
      }
      // Runs carry no owner: a user's page is read from a larger bounded page, kept to their sessions.
      const own = new Set((await store.listSessions({ ownerId: owner, limit: USER_SESSIONS })).map((s) => s.id));
      const read = Math.min(1000, limit * USER_OVERREAD);
      const page = await store.listRuns({ ...filter, limit: read, steps: false });
      const mine = page.filter((r) => r.sessionId !== null && own.has(r.sessionId));
      const runs = mine.slice(0, limit);
      const next = mine.length > limit ? runs[limit - 1]!.startedAt : nextBefore(page, read);
      return { runs: runs.map((r) => view(config, r)), workflows, nextBefore: next };
    }),

  get: authedProcedure.input(z.object({ runId })).query(async ({ ctx, input }) => {
    const run = await ctx.deps.store.getRun(input.runId);
    // Sessionless runs (sweeps, retention) are the operator's; a session's run its owner's too.
    const session = run?.sessionId ? await ctx.deps.store.findSession(run.sessionId) : null;
    const allowed = run !== null && (ctx.principal.role === "operator" || (session !== null && canAccess(ctx.principal, session)));
    if (!allowed) throw new TRPCError({ code: "NOT_FOUND", message: `No run '${input.runId}'` });
    return view(ctx.deps.config, run);
  }),
});
