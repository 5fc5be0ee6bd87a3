/**
 * Why a running session is awake, and since when its files are unsaved: what the dashboard shows
 * as "awake: 37 files changed in the last 5 min" and "unsaved for 3 min" (the RPO's clock: the
 * continuous flush checkpoints changes older than TORPOR_FLUSH_INTERVAL_MS, src/workflows/flush).
 * One pending-change read per session, so only the one-session view (sessions.get) carries it;
 * the lists stay at their bounded reads.
 */
import { DEFAULT_ACTIVITY_POLICY, sandboxChangesAreActivity } from "../core/session-policy";
import type { Session } from "../core/types";
import type { StateStore } from "../store/types";

/** The window the awake reason counts file changes in. */
export const AWAKE_WINDOW_MS = 5 * 60_000;
/** Pending rows read at most: past this the reason says "over N". */
const READ_LIMIT = 2000;

export interface AwakeView {
  /** The oldest pending change's time: files changed since then are in no checkpoint yet. null: nothing unsaved. */
  unsavedSince: number | null;
  /** Running sessions only: what keeps it awake, in words. */
  awakeReason: string | null;
}

/**
 * The reason follows the session's activity policy (src/core/session-policy): under "api" the
 * sandbox's own changes are change rows but never activity, so a "file" activity can only be a
 * files.write and the pending rows (which do not say who made them) are not counted as the reason.
 */
export function awakeReason(
  session: Pick<Session, "state" | "lastActivityKind" | "lastActivityAt"> & Partial<Pick<Session, "activity" | "lastCpuCores" | "lastCpuWindowMs">>,
  pending: { path: string; at: number }[],
  now: number,
  truncated = false,
  idleCpuThreshold: number | null = null,
): string | null {
  if (session.state !== "running") return null;
  switch (session.lastActivityKind) {
    case "file": {
      if (!sandboxChangesAreActivity({ activity: session.activity ?? DEFAULT_ACTIVITY_POLICY })) return `awake: files written through the API (files.write) at ${new Date(session.lastActivityAt).toISOString()}`;
      const recent = new Set(pending.filter((c) => c.at >= now - AWAKE_WINDOW_MS).map((c) => c.path)).size;
      if (recent === 0) return `awake: files changed at ${new Date(session.lastActivityAt).toISOString()}`;
      return `awake: ${truncated ? "over " : ""}${recent} file${recent === 1 ? "" : "s"} changed (by sandbox processes or files.write) in the last ${AWAKE_WINDOW_MS / 60_000} min`;
    }
    case "ping":
      return "awake: editor activity";
    case "command":
      return "awake: a command through the API";
    case "api":
      return "awake: API calls";
    case "cpu":
      return cpuReason(session, idleCpuThreshold);
    default: {
      const never: never = session.lastActivityKind;
      return `awake: ${String(never)}`;
    }
  }
}

/**
 * "awake: sandbox processes used 0.62 of a core over the last 5 min (idle below 0.25)": the load
 * the sweep's CPU check stored with the activity. A row written before the figure was stored
 * (null) names the check only.
 */
function cpuReason(
  session: Pick<Session, "lastActivityAt"> & Partial<Pick<Session, "lastCpuCores" | "lastCpuWindowMs">>,
  threshold: number | null,
): string {
  const cores = session.lastCpuCores ?? null;
  if (cores === null) return `awake: sandbox processes kept the CPU above the idle threshold (checked at ${new Date(session.lastActivityAt).toISOString()})`;
  const load = cores < 1 ? `${cores.toFixed(2)} of a core` : `${cores.toFixed(2)} cores`;
  const windowMs = session.lastCpuWindowMs ?? null;
  const over = windowMs !== null && windowMs > 0 ? ` over the last ${spanOf(windowMs)}` : "";
  const below = threshold !== null && threshold > 0 ? ` (idle below ${threshold})` : "";
  return `awake: sandbox processes used ${load}${over}${below}`;
}

/** "minute", "5 min", "40 s". */
function spanOf(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (ms < 60_000 - 500) return `${Math.max(1, Math.round(ms / 1000))} s`;
  return minutes === 1 ? "minute" : `${minutes} min`;
}

/** `idleCpuThreshold`: TORPOR_IDLE_CPU_THRESHOLD, which a "cpu" reason names beside the load. */
export async function awakeView(store: StateStore, session: Session, now: number, idleCpuThreshold: number | null = null): Promise<AwakeView> {
  const pending = await store.listPendingChanges(session.id, READ_LIMIT);
  return {
    unsavedSince: pending[0]?.at ?? null,
    awakeReason: awakeReason(session, pending, now, pending.length >= READ_LIMIT, idleCpuThreshold),
  };
}
