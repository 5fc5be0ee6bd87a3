/**
 * A session's two clocks, computed once for the sweep, the stores, the server and the dashboard.
 *
 * - idle deadline: lastActivityAt + idleTimeoutMs. The timeout is the session's own (set at
 *   creation from its input or the deployment default, changed by sessions.update), so the row
 *   alone decides it. The stores keep it on the row as idleAt for their (state, idleAt) index.
 * - archive deadline: pausedAt + TORPOR_ARCHIVE_AFTER_MS, for a paused session only (archive.start
 *   leaves paused; an archived or failed session has no sandbox left to archive).
 * - "archives soon": the window before the archive deadline in which the dashboard and the
 *   retention run warn about it.
 */
import { isAwake } from "./state-classes";
import type { Session } from "./types";

/** The moment a session becomes idle (the row's idleAt). */
export function idleDeadline(session: Pick<Session, "lastActivityAt" | "idleTimeoutMs">): number {
  return session.lastActivityAt + session.idleTimeoutMs;
}

/** Is the session awake and past its idle deadline at `now`? The sweep's query returns exactly these. */
export function isIdle(session: Pick<Session, "state" | "lastActivityAt" | "idleTimeoutMs">, now: number): boolean {
  return isAwake(session.state) && idleDeadline(session) <= now;
}

/** When the sweep will hibernate it, if nothing happens first; null: it is not awake. */
export function hibernatesAt(session: Pick<Session, "state" | "lastActivityAt" | "idleTimeoutMs">): number | null {
  return isAwake(session.state) ? idleDeadline(session) : null;
}

/** When the archive policy archives this session; null: it is not paused (or has no pause time). */
export function archiveDeadline(session: Pick<Session, "state" | "pausedAt">, archiveAfterMs: number): number | null {
  return session.state === "paused" && session.pausedAt !== null ? session.pausedAt + archiveAfterMs : null;
}

/**
 * The pausedAt at or before which a paused session is past its archive deadline at `now`: the
 * cut-off the stores' listPausedBefore reads through their (state, pausedAt) index.
 */
export function archiveCutoff(now: number, archiveAfterMs: number): number {
  return now - archiveAfterMs;
}

/** How long before the archive deadline the warning shows, at most: a day. */
export const ARCHIVE_WARNING_MS = 24 * 60 * 60 * 1000;

/**
 * The warning window for an archive period: a day, or half the period when that is shorter, so
 * that a short period (2 hours) does not warn from the moment the session is paused.
 */
export function archiveWarningMs(archiveAfterMs: number): number {
  return Math.min(ARCHIVE_WARNING_MS, archiveAfterMs / 2);
}

/** Is `deadline` (an archiveDeadline) within the warning window at `now`? An overdue one is too. */
export function archivesSoon(deadline: number | null, archiveAfterMs: number, now: number): deadline is number {
  return deadline !== null && deadline - now <= archiveWarningMs(archiveAfterMs);
}
