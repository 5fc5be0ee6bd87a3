/**
 * checkpoints: list a session's checkpoints (newest first), take one now (label), restore the
 * session to a chosen committed checkpoint. Taking and restoring are workflows: these procedures
 * request them and return the request id; progress shows in runs.list.
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { ownedSession, requireRunning } from "../access";
import { checkpointId, sessionId } from "../inputs";
import { requestWork } from "../requests";
import { authedProcedure, router } from "../trpc";

export const checkpointsRouter = router({
  list: authedProcedure
    .input(z.object({ sessionId, includeDeleted: z.boolean().default(false) }))
    .query(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      return ctx.deps.store.listCheckpoints(session.id, { includeDeleted: input.includeDeleted });
    }),

  create: authedProcedure
    .input(z.object({ sessionId, label: z.string().trim().min(1).max(200).nullish() }))
    .mutation(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      requireRunning(session, "take a checkpoint");
      return requestWork(ctx.deps, "torpor/session.snapshot.requested", {
        sessionId: session.id,
        label: input.label ?? null,
      });
    }),

  restore: authedProcedure.input(z.object({ sessionId, checkpointId })).mutation(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    const checkpoint = await ctx.deps.store.getCheckpoint(input.checkpointId);
    if (checkpoint === null || checkpoint.sessionId !== session.id) {
      throw new TRPCError({
        code: "NOT_FOUND",
        message: `No checkpoint '${input.checkpointId}' in session '${session.id}'`,
      });
    }
    if (checkpoint.status !== "committed") {
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: `Checkpoint '${checkpoint.id}' is ${checkpoint.status}, not committed: it cannot be restored`,
      });
    }
    if (session.state === "deleted") {
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Session '${session.id}' is deleted` });
    }
    return requestWork(ctx.deps, "torpor/session.restore.requested", {
      sessionId: session.id,
      checkpointId: checkpoint.id,
    });
  }),
});
