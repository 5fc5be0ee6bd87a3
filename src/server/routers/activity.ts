/**
 * activity.ping: the editor's heartbeat. Coalesced by the store (a ping that moves last activity by
 * less than TORPOR_ACTIVITY_COALESCE_MS is a read).
 *
 * - A ping that writes the row of a running session also moves the provider's own deadline for
 *   its sandbox (E2B's timeout) to the idle deadline plus a sweep and a hibernate: so the sweep,
 *   not E2B, puts an idle sandbox to sleep, and an active one is never ended under its user. At
 *   most once per coalescing window; a failure there is logged, never the ping's.
 * - A ping to a sleeping session asks for a resume. The request id names the moment it fell
 *   asleep, so a burst of pings starts one resume, plus the number of attempts at waking it that
 *   already ended: after a failed resume the next one has a new id (the engines drop a repeated
 *   id for good, so a reused id would silence every later wake-up). A ping within WAKE_RETRY_MS of
 *   a failed attempt answers `waking: false` with the error instead of trying again at once.
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { sandboxLifetimeMs } from "../../core/config";
import { hibernatesAt } from "../../core/deadlines";
import { describeError } from "../../core/errors";
import type { RunRecord, Session } from "../../core/types";
import type { ServerDeps } from "../context";
import { ownedSession } from "../access";
import { sessionId } from "../inputs";
import { requestWork } from "../requests";
import { authedProcedure, router } from "../trpc";

/** After a failed wake-up, pings this soon after it report the failure instead of trying again. */
export const WAKE_RETRY_MS = 15_000;
const RESUME_WORKFLOW = "resume-session";

interface WakePlan {
  /** null: no request now (a failed attempt is too recent). */
  requestId: string | null;
  /** Why the last attempt at waking this sleep failed, if it did. */
  error: string | null;
}

function requestIdOf(run: RunRecord): string | null {
  try {
    const id = (JSON.parse(run.input) as { data?: { requestId?: unknown } }).data?.requestId;
    return typeof id === "string" ? id : null;
  } catch {
    return null;
  }
}

async function planWake(deps: ServerDeps, s: Session, now: number): Promise<WakePlan> {
  // The moment it fell asleep names the wake-up; a failed session has no such moment (and its
  // updatedAt moves with every ping), so its wake-ups are named by the minute instead.
  const sleptAt = s.state === "failed" ? null : (s.archivedAt ?? s.pausedAt);
  const epoch = sleptAt !== null ? sleptAt.toString(36) : `m${Math.floor(now / 60_000).toString(36)}`;
  const base = `req_wake${s.id.slice(4)}${epoch}`;
  const runs = (await deps.store.listRuns({ sessionId: s.id, workflow: RESUME_WORKFLOW, limit: 20 })).filter((r) =>
    requestIdOf(r)?.startsWith(base),
  );
  // A run that stopped writing its row for a lease period died without recording its end (a
  // platform kill on Inngest): it is over too.
  const over = (r: RunRecord) => r.endedAt !== null || now - r.updatedAt > deps.config.lifecycle.leaseTtlMs;
  const live = runs.find((r) => !over(r));
  if (live) return { requestId: requestIdOf(live), error: null };
  const last = runs[0]; // newest first
  if (!last) return { requestId: base, error: null };
  const error = last.status === "failed" || last.endedAt === null ? (last.error ?? s.lastError ?? "the resume did not finish") : null;
  if (error !== null && now - (last.endedAt ?? last.updatedAt) < WAKE_RETRY_MS) return { requestId: null, error };
  return { requestId: `${base}.${runs.length}`, error };
}

/** Moves the provider's deadline for the sandbox of a running session (advisory). */
async function extendSandboxLifetime(deps: ServerDeps, s: Session, log: (m: string) => void): Promise<void> {
  if (s.state !== "running" || !s.sandboxId || !deps.sandboxes.extendLifetime) return;
  try {
    await deps.sandboxes.extendLifetime(s.sandboxId, sandboxLifetimeMs(deps.config.lifecycle, s.idleTimeoutMs));
  } catch (error) {
    log(`activity: could not extend the lifetime of sandbox ${s.sandboxId} of ${s.id}: ${describeError(error)}`);
  }
}

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
      if (result.written) await extendSandboxLifetime(ctx.deps, result.session, (m) => console.warn(`[torpor] ${m}`));
      let wake: WakePlan = { requestId: null, error: null };
      if (result.wake) {
        const s = result.session;
        wake = await planWake(ctx.deps, s, ctx.now());
        if (wake.requestId !== null) {
          await requestWork(
            ctx.deps,
            "torpor/session.resume.requested",
            { sessionId: s.id, reason: `activity: ${input.kind} while ${s.state}` },
            wake.requestId,
          );
        }
      }
      return {
        state: result.session.state,
        written: result.written,
        waking: wake.requestId !== null,
        resumeRequestId: wake.requestId,
        /** The last wake-up's error when it failed (then `waking` is false until WAKE_RETRY_MS passed). */
        wakeError: wake.error,
        hibernatesAt: hibernatesAt(result.session),
      };
    }),
});
