/// <reference types="vite/client" />
/**
 * The Convex side of the fleet benchmark (issue 12), run by bench/fleet-convex.bench.mjs inside
 * vitest (convex-test needs vite's import.meta.glob). A fleet in convex-test's tables with
 * transactionLimits on (./seed), measured at two sizes (FLEET_CONVEX_SMALL, then grown to
 * FLEET_CONVEX_SESSIONS), through the real adapter (createConvexStore) and the real functions in
 * convex/: the idle sweep's reads with its arguments (src/workflows/idle-sweep.ts), one retention
 * page, and the dashboard's sessions list and overview (src/server/dashboard.ts). Each Convex call's
 * reads come from convex-test's transaction-limit counter (./read-metrics). The figures go to
 * FLEET_CONVEX_JSON as JSON; the bench file prints the table.
 */
import { writeFileSync } from "node:fs";
import { convexTest } from "convex-test";
import { afterAll, beforeAll, it } from "vitest";
import schema from "../../convex/schema";
import { loadConfig } from "../../src/core/config";
import { OVERVIEW_RUNS, OVERVIEW_SESSIONS, readOverview, sessionViews } from "../../src/server/dashboard";
import { createConvexStore } from "../../src/store/convex";
import { SWEEP_BATCH } from "../../src/workflows/idle-sweep";
import { measuringClient, type CallReads } from "./read-metrics";
import { emptyStats, PER_OWNER, seedRuns, seedSessions, type FleetStats } from "./seed";

const modules = import.meta.glob("../../convex/**/*.*s");
const SECRET = "bench-secret-0123456789abcdef";
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SESSIONS = num("FLEET_CONVEX_SESSIONS", 10_000);
const SMALL = num("FLEET_CONVEX_SMALL", Math.min(1000, Math.floor(SESSIONS / 10)));
const RUNS = num("FLEET_CONVEX_RUNS", 5000);
const PAGE = 500; // retention's page (src/store/paging.ts allSessions)
const LIST = 100; // sessions.list's default limit (src/server/routers/sessions.ts)
const OUT = process.env.FLEET_CONVEX_JSON ?? "bench-output/fleet-convex.json";

let previous: string | undefined;
beforeAll(() => {
  previous = process.env.TORPOR_CONVEX_SECRET;
  process.env.TORPOR_CONVEX_SECRET = SECRET;
});
afterAll(() => {
  if (previous === undefined) delete process.env.TORPOR_CONVEX_SECRET;
  else process.env.TORPOR_CONVEX_SECRET = previous;
});

interface Measure { calls: CallReads[]; ms: number; result?: Record<string, number>; error?: string }
interface Stage { stats: FleetStats; seedMs: number; measures: Record<string, Measure> }

it(`Convex fleet reads at ${SMALL} and ${SESSIONS} sessions (transaction limits on)`, async () => {
  const t = convexTest({ schema, modules, transactionLimits: true });
  const log: CallReads[] = [];
  const store = createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client: measuringClient(t, log) });
  const config = loadConfig({});
  const now = Date.now();
  const stats = emptyStats();
  const user = `owner-${Math.min(7, Math.floor((SMALL - 1) / PER_OWNER))}`;

  const measure = async (fn: () => Promise<Record<string, number> | void>): Promise<Measure> => {
    const from = log.length;
    const started = performance.now();
    try {
      const result = (await fn()) ?? undefined;
      return { calls: log.slice(from), ms: performance.now() - started, result };
    } catch (error) {
      return { calls: log.slice(from), ms: performance.now() - started, error: error instanceof Error ? error.message : String(error) };
    }
  };

  const stage = async (): Promise<Stage["measures"]> => {
    const m: Stage["measures"] = {};
    // The sweep's three reads with its own arguments, and the idle reason's pending-change list.
    let idleIds: string[] = [];
    m.listIdleSessions = await measure(async () => {
      const idle = await store.listIdleSessions(now, SWEEP_BATCH);
      idleIds = idle.map((s) => s.id);
      return { sessions: idle.length };
    });
    m.listPendingChanges = await measure(async () => {
      let changes = 0;
      for (const id of idleIds) changes += (await store.listPendingChanges(id)).length;
      return { changes };
    });
    m.listPausedBefore = await measure(async () => ({ sessions: (await store.listPausedBefore(now - config.lifecycle.archiveAfterMs, SWEEP_BATCH)).length }));
    m.listUnsavedSessions = await measure(async () => ({
      sessions: (await store.listUnsavedSessions(now, config.lifecycle.flushIntervalMs, SWEEP_BATCH + idleIds.length)).length,
    }));
    m.listSessionsPage = await measure(async () => ({ sessions: (await store.listSessionsPage({ cursor: null, limit: PAGE })).sessions.length }));
    m.sessionsListOperator = await measure(async () => ({ sessions: (await sessionViews(store, await store.listSessions({ limit: LIST }))).length }));
    m.sessionsListUser = await measure(async () => ({ sessions: (await sessionViews(store, await store.listSessions({ ownerId: user, limit: LIST }))).length }));
    m.overviewOperator = await measure(async () => ({ sessions: (await readOverview(store, config, undefined, now)).sessions }));
    m.overviewUser = await measure(async () => ({ sessions: (await readOverview(store, config, user, now)).sessions }));
    return m;
  };

  const stages: Stage[] = [];
  let seeded = 0;
  for (const [k, size] of [SMALL, SESSIONS].entries()) {
    const started = performance.now();
    await seedSessions(t, seeded, size, now, stats);
    if (k === 0) await seedRuns(t, RUNS, now);
    seeded = size;
    const seedMs = performance.now() - started;
    console.log(`seeded ${size} sessions (${Math.round(seedMs)} ms): ${JSON.stringify(stats)}`);
    stages.push({ stats: { ...stats }, seedMs, measures: await stage() });
  }
  const limits = { documentsRead: 32_000, indexRanges: 4096, bytesRead: 16 * 2 ** 20 };
  writeFileSync(OUT, JSON.stringify({ sizes: [SMALL, SESSIONS], runs: RUNS, page: PAGE, list: LIST, user, sweepBatch: SWEEP_BATCH, overviewSessions: OVERVIEW_SESSIONS, overviewRuns: OVERVIEW_RUNS, limits, stages }, null, 2));
});
