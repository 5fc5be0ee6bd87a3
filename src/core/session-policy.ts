/**
 * A session's own policies over the deployment's defaults: what counts as activity
 * (Session.activity) and how old a pending change may get before a continuous flush
 * (Session.flushIntervalMs over TORPOR_FLUSH_INTERVAL_MS). Pure rules, used by the change feed,
 * the idle sweep and the flush workflow alike.
 */
import type { ActivityPolicy, Session } from "./types";

export const DEFAULT_ACTIVITY_POLICY: ActivityPolicy = "api+files";

/**
 * Whether files changed by the sandbox's own processes (the change feed's watcher or probe) move
 * the idle deadline. They become change rows either way: a policy decides sleep, never what is saved.
 */
export function sandboxChangesAreActivity(session: Pick<Session, "activity">): boolean {
  return session.activity !== "api";
}

/** The flush interval that applies to `session`, in ms; 0 or less: no continuous flush. */
export function flushIntervalOf(session: Pick<Session, "flushIntervalMs">, globalMs: number): number {
  return session.flushIntervalMs ?? globalMs;
}
