/**
 * Retention run (cron, hourly): apply each session's retention policy (see ./retention), record
 * warnings for checkpoints and paused sandboxes about to expire, prune what expired, then gc; then
 * prune history: change rows flushed and runs finished more than TORPOR_HISTORY_RETENTION_DAYS ago
 * (what is kept, and why: src/core/history), one bounded store call per step, until nothing is
 * left or HISTORY_MAX_BATCHES steps ran (the next hourly run goes on).
 *
 *   Apply retention, part 1 … n → Collect unreferenced objects → Reap sandboxes no session
 *   points at (./reap) → Prune old change rows and runs, batch 1 … n
 *
 * Every loop is bounded (see RETENTION_MAX_PARTS), so a run never reaches Inngest's step cap: a
 * part plans up to 100 sessions and removes up to 100 expired checkpoints in one step, where the
 * run used to add one step per expired checkpoint (past ~940 it hit the cap every hour).
 * Sessions are read a page per part (StateStore.listSessionsPage: every session, not only the
 * newest 1,000 of listSessions), so no step output grows with the fleet. A run that stops at
 * RETENTION_MAX_PARTS saves its position in the store (StateStore.setJobCursor); the next run
 * goes on from there, and the run that reaches the last session saves "start again".
 *
 * A pruned checkpoint is first marked deleted in the state store (nobody restores from it any
 * more), then its manifest is removed; gc deletes objects no remaining manifest references, after
 * the grace period that protects checkpoints being written.
 */
import { isTorporError } from "../core/errors";
import { HISTORY_BATCH } from "../core/history";
import type { ReapResult } from "../sandbox/e2b/reap";
import { reapStep } from "./reap";
import { DAY_MS, pausedExpiryWarning, planRetention } from "../core/retention";
import type { CronTick, WorkflowDefinition, WorkflowDeps } from "./types";

export const RETENTION_CRON = "17 * * * *";
/** History batches one retention run deletes at most: HISTORY_MAX_BATCHES × HISTORY_BATCH rows examined. */
export const HISTORY_MAX_BATCHES = 50;
/** Sessions one "Apply retention" step plans at most. */
export const RETENTION_SESSIONS_PER_PART = 100;
/** Checkpoints one "Apply retention" step removes at most (each is a store write and an object delete). */
export const RETENTION_PRUNES_PER_PART = 100;
/**
 * Parts one run goes through at most. With gc, history and the engine's own record steps, a
 * run takes at most RETENTION_MAX_PARTS + 4 + HISTORY_MAX_BATCHES + 3 steps (557),
 * inside Inngest's cap of 1,000 steps per run whatever the number of sessions or expired
 * checkpoints: 500 parts cover 50,000 sessions an hour, or 50,000 removals.
 */
export const RETENTION_MAX_PARTS = 500;

/** Where a part starts: a page of listSessionsPage (its cursor) and how many of it are done. */
interface PartPosition {
  cursor: string | null;
  skip: number;
}

/** The store's job cursor name for retention (StateStore.getJobCursor). */
export const RETENTION_JOB = "retention";

/** A saved position (JSON of PartPosition); none, or one this code cannot read: the first session. */
function parsePosition(saved: string | null): PartPosition {
  if (saved === null) return { cursor: null, skip: 0 };
  try {
    const p = JSON.parse(saved) as Partial<PartPosition>;
    if ((typeof p.cursor === "string" || p.cursor === null) && Number.isInteger(p.skip) && p.skip! >= 0) return { cursor: p.cursor, skip: p.skip! };
  } catch {
    // fall through: start again at the first session
  }
  return { cursor: null, skip: 0 };
}

interface RetentionPart {
  pruned: { sessionId: string; checkpointId: string }[];
  warnings: string[];
  /** Sessions this part finished planning. */
  planned: number;
  /** Where the next part starts; null once every session was planned. */
  next: PartPosition | null;
}

/**
 * One bounded step of retention: one page of sessions (RETENTION_SESSIONS_PER_PART) planned and
 * their expired checkpoints removed, stopping early once RETENTION_PRUNES_PER_PART checkpoints
 * were removed. The next part then reads the same page again and skips what is done; a session
 * with more expired checkpoints than a part removes is planned again there (planning is
 * idempotent: removed checkpoints are no longer committed). A session created in that page
 * meanwhile can shift it by one: at worst one session is planned twice or waits an hour.
 */
async function retentionPart(deps: WorkflowDeps, from: PartPosition, sessionsPerPart: number): Promise<RetentionPart> {
  const now = deps.now();
  const page = await deps.store.listSessionsPage({ cursor: from.cursor, limit: sessionsPerPart });
  const out: RetentionPart = { pruned: [], warnings: [], planned: 0, next: null };
  for (let index = from.skip; index < page.sessions.length; index++) {
    const session = page.sessions[index]!;
    const decisions = planRetention({
      checkpoints: await deps.store.listCheckpoints(session.id),
      policy: session.retention,
      latestCheckpointId: session.latestCheckpointId,
      now,
    });
    const room = RETENTION_PRUNES_PER_PART - out.pruned.length;
    const prune = decisions.filter((d) => d.status === "prune");
    for (const d of prune.slice(0, room)) {
      await removeCheckpoint(deps, d.checkpointId);
      out.pruned.push({ sessionId: session.id, checkpointId: d.checkpointId });
    }
    // Some of this session's checkpoints are left: the next part starts with it again.
    if (prune.length > room) return { ...out, next: { cursor: from.cursor, skip: index } };
    for (const d of decisions) {
      if (d.status === "expiring") {
        out.warnings.push(`Checkpoint '${d.checkpointId}' of session '${session.id}' expires at ${new Date(d.expiresAt!).toISOString()}: ${d.why}`);
      }
    }
    const warning = pausedExpiryWarning(session, deps.config.lifecycle.archiveAfterMs, now);
    if (warning) out.warnings.push(warning);
    out.planned++;
    if (out.pruned.length >= RETENTION_PRUNES_PER_PART && index + 1 < page.sessions.length) {
      return { ...out, next: { cursor: from.cursor, skip: index + 1 } };
    }
  }
  return { ...out, next: page.cursor === null ? null : { cursor: page.cursor, skip: 0 } };
}

/** Marked deleted first (nobody restores from it any more), then its manifest is removed. */
async function removeCheckpoint(deps: WorkflowDeps, checkpointId: string): Promise<void> {
  await deps.store.markCheckpointDeleted(checkpointId, deps.now());
  try {
    await deps.checkpoints.remove(checkpointId);
  } catch (error) {
    if (!isTorporError(error, "NOT_FOUND")) throw error;
  }
}

export interface HistoryPruneTotals {
  /** Rows flushed or finished before this time were candidates. */
  before: number;
  changes: number;
  runs: number;
  steps: number;
  kept: number;
  batches: number;
  /** False when the run stopped at HISTORY_MAX_BATCHES with rows left to examine. */
  done: boolean;
}

export interface RetentionRunResult {
  pruned: { sessionId: string; checkpointId: string }[];
  warnings: string[];
  /**
   * done: the run reached the last session (the next run starts again at the first); false when it
   * stopped at RETENTION_MAX_PARTS (the next run goes on from there). resumed: the run started
   * where the previous one stopped, not at the first session.
   */
  retention: { sessions: number; parts: number; done: boolean; resumed: boolean };
  gc: { deletedObjects: number; deletedBytes: number; inGrace: number };
  /** Sandboxes no session points at, killed by ./reap. */
  reaped: ReapResult;
  history: HistoryPruneTotals;
}

/** How much one run does; the defaults above, smaller in tests that go past a run's end. */
export interface RetentionLimits {
  maxParts: number;
  sessionsPerPart: number;
}

export function createRetentionWorkflow(
  cron: string = RETENTION_CRON,
  limits: RetentionLimits = { maxParts: RETENTION_MAX_PARTS, sessionsPerPart: RETENTION_SESSIONS_PER_PART },
): WorkflowDefinition<CronTick, RetentionRunResult> {
  return {
    id: "retention",
    name: "Apply checkpoint retention and collect garbage",
    trigger: { cron },
    retries: 3,
    async handler({ event, step, deps }) {
      // Step ids are stable per position: a replay re-enters the same parts with the same
      // (memoized) positions. Each part returns where the next one starts.
      const pruned: { sessionId: string; checkpointId: string }[] = [];
      const warnings: string[] = [];
      // A run continues where the last one stopped (saved in the store), and the run that reaches
      // the last session saves "start": successive runs cover the whole fleet and wrap around.
      const start = await step.run("Read where the last run stopped", async () => parsePosition(await deps.store.getJobCursor(RETENTION_JOB)));
      let at: PartPosition | null = start;
      let parts = 0;
      let sessions = 0;
      while (at !== null && parts < limits.maxParts) {
        parts++;
        const from: PartPosition = at;
        const part = await step.run(`Apply retention, part ${parts}`, () => retentionPart(deps, from, limits.sessionsPerPart));
        pruned.push(...part.pruned);
        warnings.push(...part.warnings);
        sessions += part.planned;
        at = part.next;
      }
      const stopped: PartPosition | null = at;
      await step.run("Save where this run stopped", async () => {
        await deps.store.setJobCursor(RETENTION_JOB, stopped === null ? null : JSON.stringify(stopped), deps.now());
        return null;
      });
      const plan = { prune: pruned, warnings, done: at === null, parts, sessions };
      const gc = await step.run("Collect unreferenced objects", async () => {
        const result = await deps.checkpoints.gc({ graceMs: deps.config.checkpoint.gcGraceMs, now: deps.now() });
        return { deletedObjects: result.deletedObjects, deletedBytes: result.deletedBytes, inGrace: result.inGrace };
      });
      const reaped = await reapStep(step, deps);
      // The cut-off comes from the tick, not the clock: a replayed or retried step sees the same one.
      const before = event.data.scheduledAt - deps.config.lifecycle.historyRetentionDays * DAY_MS;
      const history: HistoryPruneTotals = { before, changes: 0, runs: 0, steps: 0, kept: 0, batches: 0, done: false };
      let cursor: string | null = null;
      while (history.batches < HISTORY_MAX_BATCHES) {
        history.batches++;
        const batch = await step.run(`Prune old change rows and runs, batch ${history.batches}`, () =>
          deps.store.pruneHistory({ changesFlushedBefore: before, runsEndedBefore: before, cursor, limit: HISTORY_BATCH, now: deps.now() }),
        );
        history.changes += batch.changes;
        history.runs += batch.runs;
        history.steps += batch.steps;
        history.kept += batch.kept;
        cursor = batch.cursor;
        if (cursor === null) {
          history.done = true;
          break;
        }
      }
      return {
        pruned: plan.prune,
        warnings: plan.warnings,
        retention: { sessions: plan.sessions, parts: plan.parts, done: plan.done, resumed: start.cursor !== null || start.skip > 0 },
        gc,
        reaped,
        history,
      };
    },
  };
}
