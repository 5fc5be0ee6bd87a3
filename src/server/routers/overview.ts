/** overview: the dashboard's summary over the caller's sessions (every session for an operator). Read-only. */
import { ownerFilter } from "../access";
import { computeOverview } from "../stats";
import { authedProcedure, router } from "../trpc";

export const overviewRouter = router({
  get: authedProcedure.query(async ({ ctx }) => {
    const { store, config } = ctx.deps;
    const sessions = await store.listSessions({ ownerId: ownerFilter(ctx.principal), limit: 1000 });
    const checkpoints = new Map(
      await Promise.all(sessions.map(async (s) => [s.id, await store.listCheckpoints(s.id)] as const)),
    );
    const ids = new Set(sessions.map((s) => s.id));
    const runs = (await store.listRuns({ limit: 5000 })).filter((r) => r.sessionId !== null && ids.has(r.sessionId));
    return computeOverview(config, sessions, checkpoints, runs, ctx.now());
  }),
});
