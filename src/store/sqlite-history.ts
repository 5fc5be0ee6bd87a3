/**
 * History pruning in the embedded SQLite store: one call is one BEGIN IMMEDIATE transaction that
 * examines at most `limit` rows of one table, in key order after the cursor: flushed change rows
 * by (flushed_at, id), then finished runs by (ended_at, id), both read through partial indexes
 * that hold only flushed or ended rows. Each row is kept or deleted by src/core/history; a run
 * goes with its steps. The same scan and rules run in convex/history.ts.
 */
import { decideChange, decideRun, HISTORY_BATCH, HISTORY_WRITE_BUDGET } from "../core/history";
import type { RunStatus, Session } from "../core/types";
import { decodeHistoryCursor, nextHistoryCursor } from "./rules";
import type { SqliteDb } from "./sqlite-db";
import type { StateStore } from "./types";

/** The prune's scans; tests check that SQLite answers them from their indexes. */
export const HISTORY_QUERIES = {
  changes: `SELECT id, session_id, checkpoint_id, flushed_at FROM changes
    WHERE flushed_at IS NOT NULL AND flushed_at < @before AND (flushed_at, id) > (@at, @id)
    ORDER BY flushed_at, id LIMIT @limit`,
  runs: `SELECT id, session_id, workflow, status, ended_at FROM runs
    WHERE ended_at IS NOT NULL AND ended_at < @before AND (ended_at, id) > (@at, @id)
    ORDER BY ended_at, id LIMIT @limit`,
  newestOfKind: "SELECT id FROM runs WHERE session_id IS ? AND workflow = ? ORDER BY started_at DESC, id DESC LIMIT 1",
} as const;

interface ChangeCandidate { id: string; session_id: string; checkpoint_id: string | null; flushed_at: number | null }
interface RunCandidate { id: string; session_id: string | null; workflow: string; status: RunStatus; ended_at: number }

export function sqlitePruneHistory(sql: SqliteDb, findSession: (id: string) => Session | null): StateStore["pruneHistory"] {
  const { db } = sql;
  const scanChanges = db.prepare(HISTORY_QUERIES.changes);
  const scanRuns = db.prepare(HISTORY_QUERIES.runs);
  const newestOfKind = db.prepare(HISTORY_QUERIES.newestOfKind);
  const deleteChange = db.prepare("DELETE FROM changes WHERE id = ?");
  const deleteSteps = db.prepare("DELETE FROM steps WHERE run_id = ?");
  const deleteRun = db.prepare("DELETE FROM runs WHERE id = ?");

  return async (request) => {
    const now = request.now ?? Date.now();
    const limit = Math.max(1, request.limit ?? HISTORY_BATCH);
    const cursor = decodeHistoryCursor(request.cursor);
    // (-1, '') sorts before every real key: times are never negative.
    const from = { at: cursor.after?.at ?? -1, id: cursor.after?.id ?? "", limit };
    return sql.write(() => {
      const sessions = new Map<string, Session | null>();
      const session = (id: string | null) => {
        if (id === null) return null;
        if (!sessions.has(id)) sessions.set(id, findSession(id));
        return sessions.get(id)!;
      };
      const result = { changes: 0, runs: 0, steps: 0, kept: 0, cursor: null as string | null };
      let last: { at: number; id: string } | null = null;
      let examined = 0;
      let writes = 0;

      if (cursor.phase === "changes") {
        const rows = scanChanges.all({ ...from, before: request.changesFlushedBefore }) as ChangeCandidate[];
        for (const row of rows) {
          if (writes >= HISTORY_WRITE_BUDGET) break;
          examined++;
          last = { at: row.flushed_at!, id: row.id };
          const decision = decideChange(
            { checkpointId: row.checkpoint_id, flushedAt: row.flushed_at },
            { before: request.changesFlushedBefore, session: session(row.session_id), now },
          );
          if (!decision.prune) {
            result.kept++;
            continue;
          }
          writes += deleteChange.run(row.id).changes;
          result.changes++;
        }
      } else {
        const rows = scanRuns.all({ ...from, before: request.runsEndedBefore }) as RunCandidate[];
        for (const row of rows) {
          if (writes >= HISTORY_WRITE_BUDGET) break;
          examined++;
          last = { at: row.ended_at, id: row.id };
          const newest = newestOfKind.get(row.session_id, row.workflow) as { id: string } | undefined;
          const decision = decideRun(
            { id: row.id, status: row.status, endedAt: row.ended_at },
            { before: request.runsEndedBefore, newestOfKindId: newest?.id ?? null, session: session(row.session_id), now },
          );
          if (!decision.prune) {
            result.kept++;
            continue;
          }
          const steps = deleteSteps.run(row.id).changes;
          deleteRun.run(row.id);
          writes += steps + 1;
          result.steps += steps;
          result.runs++;
        }
      }
      result.cursor = nextHistoryCursor(cursor.phase, examined === limit || writes >= HISTORY_WRITE_BUDGET, last);
      return result;
    });
  };
}
