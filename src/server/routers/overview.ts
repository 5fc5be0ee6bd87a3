/** overview: the dashboard's summary over the caller's sessions (every session for an operator). Read-only. */
import { ownerFilter } from "../access";
import { readOverview } from "../dashboard";
import { authedProcedure, router } from "../trpc";

export const overviewRouter = router({
  get: authedProcedure.query(async ({ ctx }) => {
    return readOverview(ctx.deps.store, ctx.deps.config, ownerFilter(ctx.principal), ctx.now());
  }),
});
