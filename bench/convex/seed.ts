/**
 * The Convex fleet: sessions written straight into convex-test's tables with t.run (in chunks
 * under the write limits), with convex/model.ts's sessionToFields, so the index fields (idleAt,
 * unsavedSince, unsavedGlobalAt, flushDueAt) are what the adapter's mutations would write. The
 * mix is bench/fleet/seed.mjs's: 10 % running (1 % of those idle past the timeout), the rest
 * paused (0.1 % past the archive period) or archived; one committed checkpoint and its
 * sessionStats row each (as a commit writes them). Some running sessions have pending changes:
 * due for a flush (on the deployment's interval, or on their own) or not yet due.
 *
 * Session i's shape depends on i only, so seeding 0..1,000 and then 1,000..10,000 gives the same
 * fleet as seeding 0..10,000: the benchmark measures at the small size, grows it, measures again.
 */
import type { convexTest } from "convex-test";
import { sessionToFields } from "../../convex/model";
import { newId } from "../../src/core/ids";
import type { Session } from "../../src/core/types";
import { newSessionRecord } from "../../src/store/rules";
import { summarise } from "../../src/store/summary";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Sessions per owner: owner-k has sessions 100k..100k+99, at every fleet size that includes them. */
export const PER_OWNER = 100;

export interface FleetStats {
  sessions: number;
  running: number;
  idle: number;
  paused: number;
  pausedPastArchive: number;
  archived: number;
  /** Running sessions with a pending change older than their flush interval. */
  dueFlush: number;
  /** Running sessions with a pending change not yet due. */
  pendingNotDue: number;
}
export const emptyStats = (): FleetStats => ({ sessions: 0, running: 0, idle: 0, paused: 0, pausedPastArchive: 0, archived: 0, dueFlush: 0, pendingNotDue: 0 });

type T = ReturnType<typeof convexTest>;
type Pending = { at: number; flushIntervalMs: number | null } | null;

function sessionAt(i: number, now: number, stats: FleetStats): { session: Session; pending: Pending } {
  const created = now - 30 * DAY + i * 10_000;
  const s = newSessionRecord(
    newId("ses", created),
    { ownerId: `owner-${Math.floor(i / PER_OWNER)}`, provider: "local", template: "base", idleTimeoutMs: 10 * MINUTE, sandboxId: `sbx-${i}` },
    created,
  );
  s.latestCheckpointId = newId("cp", created + MINUTE);
  s.updatedAt = now - MINUTE;
  let pending: Pending = null;
  stats.sessions++;
  if (i % 10 === 0) {
    stats.running++;
    const idle = i % 1000 === 0;
    s.lastActivityAt = idle ? now - 20 * MINUTE : now - MINUTE;
    s.lastActivityKind = "ping";
    if (idle) stats.idle++;
    else if (i % 2000 === 10) {
      // Due: 10 minutes unsaved, past the deployment's 5 minutes or the session's own 1 minute.
      stats.dueFlush++;
      pending = { at: now - 10 * MINUTE, flushIntervalMs: i % 4000 === 10 ? null : MINUTE };
    } else if (i % 200 === 20) {
      // Not yet due: 1 minute unsaved (deployment's interval), or 10 minutes of its own 30.
      stats.pendingNotDue++;
      pending = i % 400 === 20 ? { at: now - MINUTE, flushIntervalMs: null } : { at: now - 10 * MINUTE, flushIntervalMs: 30 * MINUTE };
    }
    if (pending) s.flushIntervalMs = pending.flushIntervalMs;
  } else if (i % 10 < 7) {
    stats.paused++;
    s.state = "paused";
    const past = i % 1000 === 1;
    if (past) stats.pausedPastArchive++;
    s.pausedAt = past ? now - 8 * DAY : now - HOUR;
    s.lastActivityAt = s.pausedAt - 10 * MINUTE;
  } else {
    stats.archived++;
    s.state = "archived";
    s.sandboxId = null;
    s.pausedAt = now - 10 * DAY;
    s.archivedAt = now - 3 * DAY;
    s.lastActivityAt = s.pausedAt - 10 * MINUTE;
  }
  return { session: s, pending };
}

/** Writes sessions from..to (exclusive), 500 per transaction. */
export async function seedSessions(t: T, from: number, to: number, now: number, stats: FleetStats): Promise<void> {
  for (let start = from; start < to; start += 500) {
    const chunk = Array.from({ length: Math.min(500, to - start) }, (_, k) => sessionAt(start + k, now, stats));
    await t.run(async (ctx) => {
      for (const { session: s, pending } of chunk) {
        await ctx.db.insert("sessions", sessionToFields(s, pending?.at ?? null));
        const cp = {
          checkpointId: s.latestCheckpointId!, sessionId: s.id, parentId: null, kind: "hibernate" as const, label: null, status: "committed" as const,
          pinned: false, files: 300, bytes: 1_000_000, uploadedBytes: 1000, createdAt: s.createdAt + MINUTE, committedAt: s.createdAt + MINUTE, deletedAt: null,
        };
        await ctx.db.insert("checkpoints", cp);
        await ctx.db.insert("sessionStats", summarise(s, [{ ...cp, id: cp.checkpointId }]));
        if (pending) {
          await ctx.db.insert("changes", {
            changeId: newId("chg", pending.at), sessionId: s.id, path: "src/index.ts", operation: "write", size: 10, at: pending.at, checkpointId: null, flushedAt: null,
          });
        }
      }
    });
  }
}

/** `count` completed runs over the last day, on the first `sessions` sessions' ids. */
export async function seedRuns(t: T, count: number, now: number): Promise<void> {
  const sessionIds = await t.run(async (ctx) => (await ctx.db.query("sessions").take(1000)).map((d) => d.sessionId));
  for (let start = 0; start < count; start += 2000) {
    await t.run(async (ctx) => {
      for (let r = start; r < Math.min(count, start + 2000); r++) {
        const startedAt = now - DAY + r * 10_000;
        const sessionId = sessionIds[(r * 7919) % sessionIds.length]!;
        await ctx.db.insert("runs", {
          runId: newId("run", startedAt), workflow: r % 2 ? "hibernate-session" : "resume-session", sessionId, status: "completed",
          input: JSON.stringify({ sessionId }), result: "null", error: null, externalId: null, startedAt, endedAt: startedAt + 3000, updatedAt: startedAt + 3000, progress: null,
        });
      }
    });
  }
}
