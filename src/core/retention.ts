/**
 * Retention as data: which committed checkpoints of a session to keep, to warn about, to prune.
 *
 * Policy (per session): keep the last N; keep the newest checkpoint of each UTC day for D days
 * after that day ends; never prune a pinned checkpoint or the session's latest one. A checkpoint
 * that falls out of the policy is first "expiring" for a warning period (recorded in the retention
 * run's result, which the dashboard shows), and only then pruned; gc removes its objects later.
 *
 * The time a checkpoint falls out is computed from the data alone: by count, when the Nth newer
 * checkpoint was created; as a daily, when its day ends plus D days. So no extra state is kept.
 */
import { archiveDeadline, archivesSoon } from "./deadlines";
import type { CheckpointRecord, RetentionPolicy, Session } from "./types";

export const DAY_MS = 24 * 60 * 60 * 1000;
/** How long a checkpoint is announced as expiring before it is pruned. */
export const RETENTION_WARNING_MS = DAY_MS;

export type RetentionStatus = "keep" | "expiring" | "prune";

export interface RetentionDecision {
  checkpointId: string;
  status: RetentionStatus;
  why: string;
  /** When it is (or was) pruned; null while the policy keeps it. */
  expiresAt: number | null;
}

export interface RetentionInput {
  checkpoints: CheckpointRecord[];
  policy: RetentionPolicy;
  latestCheckpointId: string | null;
  now: number;
  warningMs?: number;
}

export function planRetention(input: RetentionInput): RetentionDecision[] {
  const { policy, now } = input;
  const warningMs = input.warningMs ?? RETENTION_WARNING_MS;
  const committed = input.checkpoints
    .filter((c) => c.status === "committed")
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  const newestOfDay = new Set<string>();
  const daysSeen = new Set<number>();
  for (const c of committed) {
    const day = Math.floor(c.createdAt / DAY_MS);
    if (!daysSeen.has(day)) {
      daysSeen.add(day);
      newestOfDay.add(c.id);
    }
  }
  return committed.map((c, index): RetentionDecision => {
    const keep = (why: string) => ({ checkpointId: c.id, status: "keep" as const, why, expiresAt: null });
    if (c.pinned) return keep("pinned");
    if (c.id === input.latestCheckpointId) return keep("the session's latest checkpoint");
    if (index < policy.keepLast) return keep(`one of the last ${policy.keepLast}`);
    const outByCount = committed[index - policy.keepLast]!.createdAt;
    const dayEnd = (Math.floor(c.createdAt / DAY_MS) + 1) * DAY_MS;
    const outByDaily =
      newestOfDay.has(c.id) && policy.keepDailyDays > 0 ? dayEnd + policy.keepDailyDays * DAY_MS : -Infinity;
    if (now < outByDaily) return keep(`the daily checkpoint of ${new Date(dayEnd - DAY_MS).toISOString().slice(0, 10)}`);
    const fellOut = Math.max(outByCount, outByDaily);
    const expiresAt = fellOut + warningMs;
    if (now < expiresAt) {
      return {
        checkpointId: c.id,
        status: "expiring",
        why: `outside the policy (last ${policy.keepLast}, dailies for ${policy.keepDailyDays} days) since ${new Date(fellOut).toISOString()}`,
        expiresAt,
      };
    }
    return { checkpointId: c.id, status: "prune", why: "outside the policy and past its warning period", expiresAt };
  });
}

/**
 * A warning for a paused sandbox that the archive policy will kill soon (its checkpoint stays).
 * None once overdue: the next sweep archives it, and "will be archived at" a past time misleads.
 */
export function pausedExpiryWarning(
  session: Pick<Session, "id" | "state" | "pausedAt">,
  archiveAfterMs: number,
  now: number,
): string | null {
  const archiveAt = archiveDeadline(session, archiveAfterMs);
  if (!archivesSoon(archiveAt, archiveAfterMs, now) || archiveAt <= now) return null;
  return `The paused sandbox of session '${session.id}' will be archived at ${new Date(archiveAt).toISOString()}; its checkpoint stays`;
}
