/** sessions: create, get, list (own; all for an operator), update (own settings), waitReady, resume, hibernateNow, delete. */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { isAsleep } from "../../core/state-classes";
import { ownedSession, ownerFilter } from "../access";
import { createSession } from "../create";
import { sessionViews } from "../dashboard";
import { sessionRef, sessionState, listLimit } from "../inputs";
import { requestWork } from "../requests";
import { authedProcedure, router } from "../trpc";
import { activityInput, flushIntervalInput, hooksInput, idleTimeoutInput, retentionInput, settingsInput, settingsPatch } from "../session-settings";
import { sessionView } from "../views";
import { MAX_WAIT_MS, waitReady } from "../wait-ready";

export const sessionsRouter = router({
  create: authedProcedure
    .input(
      z.object({
        template: z.string().trim().min(1).max(200).optional(),
        idleTimeoutMs: idleTimeoutInput.optional(),
        startCommand: z.string().min(1).max(2000).optional(),
        hooks: hooksInput.omit({ startCommand: true }).optional(),
        retention: retentionInput.optional(),
        activity: activityInput.optional(),
        flushIntervalMs: flushIntervalInput.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { config } = ctx.deps;
      const template = input.template ?? (config.sandbox.kind === "e2b" ? config.sandbox.template : "base");
      const session = await createSession(ctx.deps, {
        ownerId: ctx.principal.userId,
        template,
        idleTimeoutMs: input.idleTimeoutMs ?? config.lifecycle.idleTimeoutMs,
        startCommand: input.startCommand,
        hooks: input.hooks,
        retention: input.retention,
        activity: input.activity,
        flushIntervalMs: input.flushIntervalMs,
        now: ctx.now(),
      });
      return sessionView(ctx.deps.store, session, ctx.deps.config.lifecycle.idleCpuThreshold);
    }),

  /** Changes a session's own settings (idle timeout, hooks, retention, activity policy, flush interval); fields left out keep their value. */
  update: authedProcedure.input(settingsInput.extend({ sessionId: sessionRef.shape.sessionId })).mutation(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    if (session.state === "deleted") {
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Session '${session.id}' is deleted` });
    }
    const updated = await ctx.deps.store.updateSession(session.id, settingsPatch(session, input), { now: ctx.now() });
    return sessionView(ctx.deps.store, updated, ctx.deps.config.lifecycle.idleCpuThreshold);
  }),

  /** The session's view, with the deployment's hook time limit (one for every hook) that its settings form shows. */
  get: authedProcedure.input(sessionRef).query(async ({ ctx, input }) => {
    const view = await sessionView(ctx.deps.store, await ownedSession(ctx, input.sessionId), ctx.deps.config.lifecycle.idleCpuThreshold);
    return { ...view, hookTimeoutMs: ctx.deps.config.lifecycle.hookTimeoutMs };
  }),

  list: authedProcedure
    .input(z.object({ state: sessionState.optional(), limit: listLimit }).default({ limit: 100 }))
    .query(async ({ ctx, input }) => {
      const sessions = await ctx.deps.store.listSessions({
        ownerId: ownerFilter(ctx.principal),
        state: input.state,
        limit: input.limit,
      });
      return sessionViews(ctx.deps.store, sessions);
    }),

  /** Long-poll: resolves when the session is running (waking a sleeping one), or after timeoutMs (at most 20 s) with ready: false. */
  waitReady: authedProcedure
    .input(z.object({ sessionId: sessionRef.shape.sessionId, timeoutMs: z.number().int().min(0).max(MAX_WAIT_MS).default(MAX_WAIT_MS), wake: z.boolean().default(true) }))
    .query(({ ctx, input, signal }) => waitReady(ctx, input, signal)),

  resume: authedProcedure.input(sessionRef).mutation(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    if (session.state === "running") return { requestId: null, ids: [], state: session.state };
    if (session.state === "deleted") {
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Session '${session.id}' is deleted` });
    }
    // An explicit resume is activity: the user is here now. (The idle clock also restarts when the
    // resume completes: src/core/lifecycle wakeActivity.)
    await ctx.deps.store.recordActivity(session.id, { at: ctx.now(), kind: "api", coalesceMs: 0 });
    const receipt = await requestWork(ctx.deps, "torpor/session.resume.requested", {
      sessionId: session.id,
      reason: `resume requested by ${ctx.principal.userId}`,
    });
    return { ...receipt, state: session.state };
  }),

  hibernateNow: authedProcedure.input(sessionRef).mutation(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    if (isAsleep(session.state)) return { requestId: null, ids: [], state: session.state };
    if (session.state !== "running") {
      throw new TRPCError({
        code: "CONFLICT",
        message: `Cannot hibernate session '${session.id}' while it is ${session.state}`,
      });
    }
    const receipt = await requestWork(ctx.deps, "torpor/session.hibernate.requested", {
      sessionId: session.id,
      reason: `manual: hibernate requested by ${ctx.principal.userId}`,
      kind: "request",
    });
    return { ...receipt, state: session.state };
  }),

  delete: authedProcedure.input(sessionRef).mutation(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    if (session.state === "deleted") return { requestId: null, ids: [], state: session.state };
    const receipt = await requestWork(ctx.deps, "torpor/session.delete.requested", { sessionId: session.id });
    return { ...receipt, state: session.state };
  }),
});
