/**
 * Tenancy: a user sees and changes only the sessions they own; an operator every session.
 * Every procedure that takes a session id loads it through `ownedSession`, so that the check
 * cannot be forgotten in one router.
 */
import { TRPCError } from "@trpc/server";
import { ConflictError } from "../core/errors";
import { isTransient } from "../core/state-classes";
import type { Session } from "../core/types";
import type { Principal } from "./auth";
import type { Context } from "./context";

export function canAccess(principal: Principal, session: Pick<Session, "ownerId">): boolean {
  return principal.role === "operator" || session.ownerId === principal.userId;
}

/**
 * The session, or NOT_FOUND (`No session 'x'`), also when it belongs to someone else: the same
 * answer for "not yours" as for "does not exist", so that ids cannot be probed for existence.
 */
export async function ownedSession(ctx: Context & { principal: Principal }, sessionId: string): Promise<Session> {
  const session = await ctx.deps.store.findSession(sessionId);
  if (session === null || !canAccess(ctx.principal, session)) {
    throw new TRPCError({ code: "NOT_FOUND", message: `No session '${sessionId}'` });
  }
  return session;
}

/** The owner filter for list queries: none for operators. */
export function ownerFilter(principal: Principal): string | undefined {
  return principal.role === "operator" ? undefined : principal.userId;
}

/**
 * Sessions must be running for file access: a sleeping sandbox is resumed first, on purpose. During
 * a transient state the answer is CONFLICT with the retriable LEASE_HELD code and says to wait
 * (sessions.waitReady), not to resume: a resume then is refused or wasted.
 */
export function requireRunning(session: Session, action: string): void {
  if (session.state === "running" && session.sandboxId !== null) return;
  // A transient state ends on its own within moments: a call made during one should wait and retry.
  if (isTransient(session.state)) {
    throw new TRPCError({
      code: "CONFLICT",
      message: `Cannot ${action}: session '${session.id}' is ${session.state}; wait until it is ready (sessions.waitReady) and retry`,
      cause: new ConflictError("LEASE_HELD", `session '${session.id}' is ${session.state}`),
    });
  }
  throw new TRPCError({
    code: "PRECONDITION_FAILED",
    message: `Cannot ${action}: session '${session.id}' is ${session.state}; resume it first`,
  });
}
