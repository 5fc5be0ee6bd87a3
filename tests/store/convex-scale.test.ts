/// <reference types="vite/client" />
/**
 * The dashboard's queries on a Convex store holding 10,000 runs and 1,000 sessions, under
 * convex-test with transactionLimits on (4,096 index ranges, 32,000 documents and 16 MiB read per
 * function, as in production). Before the bounded reads the overview asked for 5,000 runs with
 * their steps (one index range each: past the limit at ~4,100 runs) and one checkpoint list per
 * session (1,000 calls per poll).
 *
 * Rows are written straight into the tables with t.run (in chunks under the write limits), not
 * through the adapter: the point is what the reads cost.
 */
import { convexTest } from "convex-test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import schema from "../../convex/schema";
import { sessionToFields } from "../../convex/model";
import { loadConfig } from "../../src/core/config";
import { isTorporError } from "../../src/core/errors";
import { OVERVIEW_RUNS, readOverview, sessionViews } from "../../src/server/dashboard";
import { createConvexStore, type ConvexClientLike } from "../../src/store/convex";
import { newSessionRecord } from "../../src/store/rules";
import { summarise } from "../../src/store/summary";
import { T0 } from "./contract";

const modules = import.meta.glob("../../convex/**/*.*s");
const SECRET = "test-secret-0123456789abcdef";
const SESSIONS = 1000;
const RUNS = 10_000;
const HEAVY_RUNS = 2000; // all on session 0, the newest 500 of them with 3 steps each
const HOUR = 3600_000;

let previous: string | undefined;
beforeAll(() => {
  previous = process.env.TORPOR_CONVEX_SECRET;
  process.env.TORPOR_CONVEX_SECRET = SECRET;
});
afterAll(() => {
  if (previous === undefined) delete process.env.TORPOR_CONVEX_SECRET;
  else process.env.TORPOR_CONVEX_SECRET = previous;
});

const sessionId = (i: number) => `ses_${String(i).padStart(6, "0")}`;

async function seed(t: ReturnType<typeof convexTest>) {
  const chunks = <T>(items: T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, k) => items.slice(k * size, (k + 1) * size));
  const sessions = Array.from({ length: SESSIONS }, (_, i) => {
    const s = newSessionRecord(sessionId(i), { ownerId: `owner${i % 10}`, provider: "e2b", template: "base", idleTimeoutMs: 600_000, sandboxId: `sbx${i}` }, T0 + i);
    // Two committed checkpoints each; every other session asleep on the newest.
    return i % 2 === 0 ? { ...s, state: "paused" as const, pausedAt: T0 + HOUR, latestCheckpointId: `cp_${i}_b`, sandboxId: null } : { ...s, latestCheckpointId: `cp_${i}_b` };
  });
  for (const chunk of chunks(sessions, 200)) {
    await t.run(async (ctx) => {
      for (const s of chunk) {
        await ctx.db.insert("sessions", sessionToFields(s));
        const cps = ["a", "b"].map((tag, k) => ({
          checkpointId: `cp_${s.id.slice(4).replace(/^0+(?=.)/, "")}_${tag}`, sessionId: s.id, parentId: null, kind: "hibernate" as const, label: null,
          status: "committed" as const, pinned: false, files: 10, bytes: 1000 * (k + 1), uploadedBytes: 100, createdAt: T0 + k, committedAt: T0 + k, deletedAt: null,
        }));
        for (const cp of cps) await ctx.db.insert("checkpoints", cp);
        // Half the sessions have their stats row (as written by a commit); the rest predate the table.
        if (Number(s.id.slice(4)) % 4 < 2) {
          await ctx.db.insert("sessionStats", summarise(s, cps.map((c) => ({ ...c, id: c.checkpointId }))));
        }
      }
    });
  }
  const runs = Array.from({ length: RUNS }, (_, i) => {
    const heavy = i < HEAVY_RUNS;
    const sid = heavy ? sessionId(0) : sessionId(1 + (i % (SESSIONS - 1)));
    const workflow = i % 2 === 0 ? "hibernate-session" : "resume-session";
    const startedAt = T0 + i * 1000;
    return {
      runId: `run_${String(i).padStart(6, "0")}`, workflow, sessionId: sid, status: i % 10 === 9 ? ("failed" as const) : ("completed" as const),
      input: JSON.stringify({ sessionId: sid }), result: JSON.stringify({ rung: "resumed" }), error: null, externalId: null,
      startedAt, endedAt: startedAt + 500, updatedAt: startedAt + 500, progress: null,
    };
  });
  for (const chunk of chunks(runs, 2000)) {
    await t.run(async (ctx) => {
      for (const run of chunk) {
        await ctx.db.insert("runs", run);
        if (Number(run.runId.slice(4)) >= HEAVY_RUNS - 500 && Number(run.runId.slice(4)) < HEAVY_RUNS) {
          for (const [position, name] of ["Take the lease", "Checkpoint", "Pause"].entries()) {
            await ctx.db.insert("runSteps", {
              runId: run.runId, position, name, status: "completed", attempts: 1, startedAt: run.startedAt, endedAt: run.endedAt, error: null, output: null,
            });
          }
        }
      }
    });
  }
}

// convex-test runs every query in-process: 3-4x slower with the rest of the suite beside it.
describe(`Convex dashboard queries with ${RUNS} runs and ${SESSIONS} sessions (transaction limits on)`, { timeout: 240_000 }, () => {
  const t = convexTest({ schema, modules, transactionLimits: true });
  let calls = 0;
  const counting: ConvexClientLike = {
    query: (ref, args) => (calls++, t.query(ref, args as never)),
    mutation: (ref, args) => (calls++, t.mutation(ref, args as never)),
  };
  const store = createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client: counting });
  const config = loadConfig({});
  const now = T0 + 2 * HOUR;

  beforeAll(async () => {
    await seed(t);
  }, 240_000);

  it("the old overview read (5,000 runs with their steps) hits the limit, and is classified permanent", async () => {
    const error = await store.listRuns({ limit: 5000 }).catch((e: unknown) => e);
    console.log(`listRuns({limit: 5000}) with steps: ${String((error as Error).message).slice(0, 160)}`);
    expect(isTorporError(error, "STORAGE_PERMANENT")).toBe(true);
    expect((error as Error).message).toMatch(/Convex transaction limit.*index ranges/);
  });

  it("overview: every session, in three bounded calls", async () => {
    calls = 0;
    const overview = await readOverview(store, config, undefined, now);
    console.log(`overview: ${calls} Convex calls for ${overview.sessions} sessions`);
    expect(calls).toBe(3);
    expect(overview.sessions).toBe(SESSIONS);
    expect(overview.sessionsByState).toEqual({ paused: 500, running: 500 });
    expect(overview.storage).toEqual({ logicalBytes: 2000 * SESSIONS, describedBytes: 3000 * SESSIONS, storedBytes: 200 * SESSIONS, checkpoints: 2 * SESSIONS });
    expect(overview.latencies.pause.count + overview.latencies.resume.count).toBe(OVERVIEW_RUNS);

    // An owner's overview: the same three calls.
    calls = 0;
    const mine = await readOverview(store, config, "owner3", now);
    expect(calls).toBe(3);
    expect(mine.sessions).toBe(SESSIONS / 10);
  });

  it("sessions list: 500 sessions with their latest checkpoint and storage in two calls", async () => {
    calls = 0;
    const sessions = await store.listSessions({ limit: 500 });
    const views = await sessionViews(store, sessions);
    expect(calls).toBe(2);
    expect(views).toHaveLength(500);
    for (const view of views) {
      expect(view.latestCheckpoint?.id).toBe(view.latestCheckpointId);
      expect(view.storage).toEqual({ logicalBytes: 2000, storedBytes: 200, checkpoints: 2 });
    }
  });

  it("a session's runs (2,000 of them) and the runs list, with steps, at the API's largest page", async () => {
    const heavy = await store.listRuns({ sessionId: sessionId(0), limit: 500 });
    expect(heavy).toHaveLength(500);
    expect(heavy.every((r) => r.sessionId === sessionId(0))).toBe(true);
    const all = await store.listRuns({ limit: 500 });
    expect(all).toHaveLength(500);
    expect(all[0]!.startedAt).toBe(T0 + (RUNS - 1) * 1000);
    const withSteps = await store.listRuns({ sessionId: sessionId(0), status: "completed", limit: 500 });
    expect(withSteps[0]!.steps.map((s) => s.name)).toEqual(["Take the lease", "Checkpoint", "Pause"]);
    const noSteps = await store.listRuns({ status: "completed", limit: OVERVIEW_RUNS, steps: false });
    expect(noSteps).toHaveLength(OVERVIEW_RUNS);
    expect(noSteps.every((r) => r.steps.length === 0)).toBe(true);
  });

  it("retention's paging reaches every session", async () => {
    let seen = 0;
    let cursor: string | null = null;
    do {
      const page = await store.listSessionsPage({ cursor, limit: 500 });
      seen += page.sessions.length;
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toBe(SESSIONS);
  });
});
