/**
 * activity.ping: the editor's heartbeat. Coalesced by the store (a ping that moves last activity by
 * less than TORPOR_ACTIVITY_COALESCE_MS is a read). A ping to a sleeping session asks for a resume;
 * the request id is derived from the moment it fell asleep, so a burst of pings starts one resume.
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { ownedSession } from "../access";
import { sessionId } from "../inputs";
import { requestWork } from "../requests";
import { authedProcedure, router } from "../trpc";

export const activityRouter = router({
  ping: authedProcedure
    .input(z.object({ sessionId, kind: z.enum(["ping", "file", "command", "api"]).default("ping") }))
    .mutation(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      if (session.state === "deleted") {
        throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Session '${session.id}' is deleted` });
      }
      const { store, config } = ctx.deps;
      const result = await store.recordActivity(session.id, {
        at: ctx.now(),
        kind: input.kind,
        coalesceMs: config.lifecycle.activityCoalesceMs,
      });
      let resumeRequestId: string | null = null;
      if (result.wake) {
        const s = result.session;
        // The moment it fell asleep names the wake-up; a failed session has no such moment (and
        // its updatedAt moves with every ping), so its wake-ups are named by the minute instead.
        const sleptAt = s.state === "failed" ? null : (s.archivedAt ?? s.pausedAt);
        const epoch = sleptAt !== null ? sleptAt.toString(36) : `m${Math.floor(ctx.now() / 60_000).toString(36)}`;
        resumeRequestId = `req_wake${s.id.slice(4)}${epoch}`;
        await requestWork(
          ctx.deps,
          "torpor/session.resume.requested",
          { sessionId: s.id, reason: `activity: ${input.kind} while ${s.state}` },
          resumeRequestId,
        );
      }
      return {
        state: result.session.state,
        written: result.written,
        waking: result.wake,
        resumeRequestId,
        hibernatesAt: result.session.state === "running" ? result.session.lastActivityAt + result.session.idleTimeoutMs : null,
      };
    }),
});
