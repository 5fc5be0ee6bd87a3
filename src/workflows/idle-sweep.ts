/**
 * Idle sweep (cron, every minute by default): find running sessions idle past their timeout and
 * paused sessions past the archive period, and request hibernation / archiving for each.
 *
 *   Find idle sessions → Request hibernation for <session> … → Find sessions paused past the
 *   archive period → Request archiving for <session> … → Find running sessions with changes
 *   unsaved past the flush interval → Request a flush for <session> …
 *
 * A candidate whose sandbox is busy on the CPU is kept awake instead (a "cpu" activity, one
 * provider call per candidate: ./cpu-activity, TORPOR_IDLE_CPU_THRESHOLD).
 * Each request records why (idle for how long, the last ping / file change / command), which
 * becomes the session's sleep reason. With a one-minute cron a session sleeps within its timeout
 * plus one minute. Request ids name the session and the sweep's scheduled minute: a replayed sweep
 * sends nothing twice, and a request that was skipped (session busy) is made again next minute.
 *
 * Flush (TORPOR_FLUSH_INTERVAL_MS, 0 = off): a running session whose oldest pending change is
 * older than the interval gets a flush request (src/workflows/flush.ts), so a sandbox that dies
 * while running loses at most the interval plus one sweep period. Sessions the same sweep sends to
 * hibernate, and sessions a workflow holds, are left out. Cost: one store read of the due sessions
 * only (StateStore.listUnsavedSessions, indexes on the row's oldest pending change time), whatever
 * the number of running sessions.
 */
import { archiveCutoff } from "../core/deadlines";
import { selectIdle } from "../core/idle-policy";
import { isLeaseLive } from "../core/lifecycle";
import { flushIntervalOf } from "../core/session-policy";
import type { Session } from "../core/types";
import { withoutCpuBusy } from "./cpu-activity";
import type { CronTick, WorkflowDefinition, WorkflowDeps } from "./types";

/** At most this many sessions per sweep; the next sweep takes the rest. */
export const SWEEP_BATCH = 200;

export interface SweepResult {
  hibernate: { sessionId: string; reason: string }[];
  archive: { sessionId: string; reason: string }[];
  flush: { sessionId: string; reason: string }[];
}

/** Running sessions whose oldest pending change is older than the flush interval, not held by a workflow. */
export async function findUnsaved(deps: WorkflowDeps, now: number, skip: ReadonlySet<string>): Promise<{ sessionId: string; reason: string }[]> {
  // One index-backed read of the due sessions only (the session row keeps its oldest pending
  // change's time): a session's own flushIntervalMs wins over the deployment's, 0 is off. Read a
  // little more than a batch, since held or hibernating sessions are left out here.
  const fallback = deps.config.lifecycle.flushIntervalMs;
  const due = await deps.store.listUnsavedSessions(now, fallback, SWEEP_BATCH + skip.size);
  const found: { sessionId: string; reason: string }[] = [];
  for (const { session, unsavedSince } of due) {
    if (found.length >= SWEEP_BATCH) break;
    if (skip.has(session.id) || isLeaseLive(session.lease, now)) continue;
    const interval = flushIntervalOf(session, fallback);
    found.push({
      sessionId: session.id,
      reason: `changes unsaved since ${iso(unsavedSince)} (${Math.round((now - unsavedSince) / 1000)}s, flush interval ${Math.round(interval / 1000)}s)`,
    });
  }
  return found;
}

const iso = (at: number) => new Date(at).toISOString();

/** The recorded answer to "why did it sleep?". */
export async function idleReason(deps: WorkflowDeps, session: Session, now: number): Promise<string> {
  const idleFor = Math.round((now - session.lastActivityAt) / 1000);
  const pending = await deps.store.listPendingChanges(session.id);
  const lastChange = pending.reduce((latest, c) => Math.max(latest, c.at), 0);
  const parts = [
    `idle for ${idleFor}s (timeout ${Math.round(session.idleTimeoutMs / 1000)}s)`,
    `last activity: ${session.lastActivityKind} at ${iso(session.lastActivityAt)}`,
    lastChange > 0 ? `last unsaved file change at ${iso(lastChange)}` : "no unsaved file change",
  ];
  if (session.lastActivityKind !== "command") parts.push("no command since");
  return parts.join("; ");
}

export function createIdleSweepWorkflow(cron: string): WorkflowDefinition<CronTick, SweepResult> {
  return {
    id: "idle-sweep",
    name: "Sweep idle and long-paused sessions",
    trigger: { cron },
    retries: 2,
    async handler({ event, step, deps }) {
      const tick = event.data.scheduledAt;
      const idle = await step.run("Find idle sessions", async () => {
        const now = deps.now();
        const sessions = await withoutCpuBusy(deps, selectIdle(await deps.store.listIdleSessions(now, SWEEP_BATCH), now, SWEEP_BATCH), now);
        return Promise.all(
          sessions.map(async (s) => ({
            sessionId: s.id,
            reason: await idleReason(deps, s, now),
            requestId: `idle-${s.id}-${tick}`,
            kind: "idle" as const,
          })),
        );
      });
      for (const item of idle) {
        await step.sendEvent(`Request hibernation for ${item.sessionId}`, {
          name: "torpor/session.hibernate.requested",
          data: item,
        });
      }
      const paused = await step.run("Find sessions paused past the archive period", async () => {
        const now = deps.now();
        const archiveAfterMs = deps.config.lifecycle.archiveAfterMs;
        const sessions = await deps.store.listPausedBefore(archiveCutoff(now, archiveAfterMs), SWEEP_BATCH);
        return sessions.map((s) => ({
          sessionId: s.id,
          reason: `paused since ${iso(s.pausedAt ?? now)}, longer than the archive period of ${Math.round(archiveAfterMs / 1000)}s`,
          requestId: `archive-${s.id}-${tick}`,
        }));
      });
      for (const item of paused) {
        await step.sendEvent(`Request archiving for ${item.sessionId}`, {
          name: "torpor/session.archive.requested",
          data: item,
        });
      }
      const unsaved = await step.run("Find running sessions with changes unsaved past the flush interval", async () => {
        const found = await findUnsaved(deps, deps.now(), new Set(idle.map((i) => i.sessionId)));
        return found.map((f) => ({ ...f, requestId: `flush-${f.sessionId}-${tick}` }));
      });
      for (const item of unsaved) {
        await step.sendEvent(`Request a flush for ${item.sessionId}`, {
          name: "torpor/session.flush.requested",
          data: item,
        });
      }
      return {
        hibernate: idle.map(({ sessionId, reason }) => ({ sessionId, reason })),
        archive: paused.map(({ sessionId, reason }) => ({ sessionId, reason })),
        flush: unsaved.map(({ sessionId, reason }) => ({ sessionId, reason })),
      };
    },
  };
}
