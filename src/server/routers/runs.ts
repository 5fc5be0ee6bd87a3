/**
 * runs: the workflow runs of a session (hibernate, resume, restore…), newest first, with their
 * steps and errors. When Inngest runs the workflows each run carries a link to it in Inngest's
 * dashboard (TORPOR_INNGEST_DASHBOARD_URL, or Inngest Cloud / the dev server's default).
 */
import { z } from "zod";
import type { Config } from "../../core/config";
import type { RunRecord } from "../../core/types";
import { ownedSession } from "../access";
import { listLimit, sessionId } from "../inputs";
import { authedProcedure, router } from "../trpc";

export function inngestRunUrl(config: Config, run: Pick<RunRecord, "externalId">): string | null {
  const engine = config.workflowEngine;
  if (engine.kind !== "inngest" || run.externalId === null) return null;
  const base = engine.dashboardUrl ?? (engine.dev ? "http://localhost:8288" : "https://app.inngest.com/env/production");
  return `${base.replace(/\/+$/, "")}/runs/${encodeURIComponent(run.externalId)}`;
}

export const runsRouter = router({
  list: authedProcedure.input(z.object({ sessionId, limit: listLimit })).query(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    const runs = await ctx.deps.store.listRuns({ sessionId: session.id, limit: input.limit });
    return runs.map((run) => ({ ...run, inngestUrl: inngestRunUrl(ctx.deps.config, run) }));
  }),
});
