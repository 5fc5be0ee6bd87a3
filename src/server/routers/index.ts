/** The API: one router per resource. `AppRouter` is the type host apps' clients are built from. */
import { createCallerFactory, router } from "../trpc";
import { activityRouter } from "./activity";
import { checkpointsRouter } from "./checkpoints";
import { filesRouter } from "./files";
import { overviewRouter } from "./overview";
import { runsRouter } from "./runs";
import { sessionsRouter } from "./sessions";
import { timelineRouter } from "./timeline";

export const appRouter = router({
  sessions: sessionsRouter,
  activity: activityRouter,
  checkpoints: checkpointsRouter,
  files: filesRouter,
  runs: runsRouter,
  overview: overviewRouter,
  timeline: timelineRouter,
});

export type AppRouter = typeof appRouter;

/** For tests and server-side callers: `createCaller(createContextInner({...}))`. */
export const createCaller = createCallerFactory(appRouter);
