/**
 * timeline: one session's history on one time axis (../timeline): awake and asleep periods with
 * their reasons, checkpoints, runs, activity, the archive countdown and whether lastError still
 * stands. A fixed number of bounded store reads.
 */
import { z } from "zod";
import { ownedSession } from "../access";
import { sessionId } from "../inputs";
import { sessionTimeline } from "../timeline";
import { authedProcedure, router } from "../trpc";

/** Runs the axis covers at most (the newest). */
const TIMELINE_RUNS = 200;

export const timelineRouter = router({
  get: authedProcedure.input(z.object({ sessionId })).query(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    const { store, config } = ctx.deps;
    const [runs, checkpoints, changes] = await Promise.all([
      store.listRuns({ sessionId: session.id, limit: TIMELINE_RUNS, steps: false }),
      store.listCheckpoints(session.id),
      store.listPendingChanges(session.id, 1000),
    ]);
    return sessionTimeline(session, runs, checkpoints, changes, config.lifecycle.archiveAfterMs, ctx.now());
  }),
});
