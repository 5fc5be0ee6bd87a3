/**
 * Waiting for a session to be running, for host apps: `sessions.waitReady` holds the request open
 * (a long-poll) and re-reads the session, first after WAIT_FIRST_POLL_MS and then twice as long each
 * time up to every WAIT_POLL_MS, until it is running with a sandbox,
 * it can no longer become so (deleted), or the bounded wait ends. One request per wait instead of
 * a poll loop in every host app; the typed client's `waitReady` chains long-polls up to the
 * caller's own timeout.
 *
 * A sleeping session (paused, archived, failed) is woken once, at the start of the call, as an
 * explicit resume would (activity + a resume request); a hibernating one gets the activity only,
 * which makes the hibernate abort and leave it running (activity wins). States already on their
 * way (resuming, restoring, creating) are only waited for.
 */
import { TRPCError } from "@trpc/server";
import { isAsleep } from "../core/state-classes";
import type { Session, SessionState } from "../core/types";
import type { Context } from "./context";
import type { Principal } from "./auth";
import { ownedSession } from "./access";
import { requestWork } from "./requests";

/** One call waits at most this long (below common proxy and load-balancer idle timeouts of 30-60 s). */
export const MAX_WAIT_MS = 20_000;
/**
 * How often the session row is re-read while waiting: soon at first, since a paused session's
 * wake takes tens of milliseconds on the local provider (bench/wake.bench.mjs) and a fixed 200 ms
 * poll made the editor wait for the poll; then at most every WAIT_POLL_MS (about 105 reads in a
 * whole 20 s wait, against 100 at a fixed 200 ms).
 */
export const WAIT_FIRST_POLL_MS = 10;
export const WAIT_POLL_MS = 200;

export interface WaitReadyResult {
  ready: boolean;
  state: SessionState;
  /** How long this call waited. */
  waitedMs: number;
}

const isReady = (s: Session) => s.state === "running" && s.sandboxId !== null;

export async function waitReady(
  ctx: Context & { principal: Principal },
  input: { sessionId: string; timeoutMs: number; wake: boolean },
  signal?: AbortSignal,
): Promise<WaitReadyResult> {
  const started = Date.now();
  const deadline = started + Math.min(input.timeoutMs, MAX_WAIT_MS);
  let session = await ownedSession(ctx, input.sessionId);
  if (input.wake && !isReady(session) && (isAsleep(session.state) || session.state === "hibernating")) {
    await ctx.deps.store.recordActivity(session.id, { at: ctx.now(), kind: "api", coalesceMs: 0 });
    if (isAsleep(session.state)) {
      await requestWork(ctx.deps, "torpor/session.resume.requested", {
        sessionId: session.id,
        reason: `waitReady by ${ctx.principal.userId}`,
      });
    }
  }
  let pollMs = WAIT_FIRST_POLL_MS;
  for (;;) {
    if (isReady(session)) return { ready: true, state: session.state, waitedMs: Date.now() - started };
    if (session.state === "deleted") {
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Session '${session.id}' is deleted; it will never be ready` });
    }
    const left = deadline - Date.now();
    if (left <= 0 || signal?.aborted) return { ready: false, state: session.state, waitedMs: Date.now() - started };
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
    pollMs = Math.min(pollMs * 2, WAIT_POLL_MS);
    session = await ownedSession(ctx, input.sessionId);
  }
}
