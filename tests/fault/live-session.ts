/**
 * One round's session for the live-sandbox scenarios (live-sandbox.test.ts on the local provider,
 * live-sandbox-e2b.test.ts on the E2B double): a new sandbox whose start command writes, a session
 * on it, and a runner for its hibernate, archive and resume that expects each run to complete.
 */
import { expect } from "vitest";
import { requestId, runWorkflow, type WorkflowRuntime } from "../helpers/runtime";

export async function liveSession(rt: WorkflowRuntime, seed: number, startCommand: string) {
  const { runtime } = rt;
  const info = await runtime.sandboxes.create({ template: "base", startCommand });
  const session = await runtime.store.createSession({
    ownerId: "alice",
    provider: runtime.sandboxes.kind,
    template: "base",
    idleTimeoutMs: runtime.config.lifecycle.idleTimeoutMs,
    sandboxId: info.id,
  });
  const run = async (name: "hibernate" | "archive" | "resume") => {
    const record = await runWorkflow(rt, {
      name: `torpor/session.${name}.requested`,
      data: { sessionId: session.id, reason: `live round ${seed}`, requestId: requestId(name) },
    });
    expect(record.status, `${name} of round ${seed}: ${record.error}`).toBe("completed");
    return JSON.parse(record.result!) as Record<string, unknown>;
  };
  return { info, session, run };
}

/** What the rounds of one scenario wrote and lost, for its printed summary. */
export interface LiveTotals {
  rounds: number;
  written: number;
  lost: number;
  bulkRounds: number;
}

type Round = (rt: WorkflowRuntime, seed: number, bulk: boolean) => Promise<{ written: number; lost: string[] }>;

/**
 * `rounds` rounds from seed `firstSeed` on, one in ten with a 100 MB bulk write (the first one
 * always, so a short run has one); each round must lose nothing. The runtime is closed at the end.
 */
export async function runLiveRounds(rt: WorkflowRuntime, rounds: number, firstSeed: number, totals: LiveTotals, round: Round): Promise<void> {
  try {
    for (let i = 0; i < rounds; i++) {
      const seed = firstSeed + i;
      const bulk = i % 10 === 0;
      const { written, lost } = await round(rt, seed, bulk);
      totals.rounds++;
      totals.written += written;
      totals.lost += lost.length;
      if (bulk) totals.bulkRounds++;
      expect(lost, `round with seed ${seed}`).toEqual([]);
    }
  } finally {
    await rt.close();
  }
}
