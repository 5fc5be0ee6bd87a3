// The Convex fleet benchmark (bench/fleet-convex.bench.mjs, which runs bench/convex/fleet-convex.vitest.ts
// in its own vitest) at a tiny scale: it runs to the end, prints its markdown table with a result
// per row, and what it counted is not zero (a counter that never reached convex-test's tracker
// would print a table of zeros).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-bench-fleet-convex-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Call { fn: string; documentsRead: number; indexRanges: number }

describe("Convex fleet benchmark", () => {
  it("prints its table at 20 → 200 sessions, with non-zero counts from convex-test's tracker", () => {
    const json = path.join(dir, "fleet-convex.json");
    const run = spawnSync(process.execPath, ["bench/fleet-convex.bench.mjs"], {
      encoding: "utf8",
      env: { ...process.env, FLEET_CONVEX_SESSIONS: "200", FLEET_CONVEX_SMALL: "20", FLEET_CONVEX_RUNS: "100", FLEET_CONVEX_JSON: json },
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const table = run.stdout.split("\n").filter((l) => l.startsWith("| "));
    expect(table[0]).toBe("| measure | figure | target | result | detail |");
    const body = table.slice(1);
    expect(body.length).toBe(11);
    for (const line of body) {
      const cells = line.split(" | ");
      expect(cells.length, line).toBeGreaterThanOrEqual(5);
      expect(cells[3], line).toBe("PASS");
    }
    for (const measure of ["sweep: listIdleSessions", "sweep: listPausedBefore", "sweep: listUnsavedSessions", "sweep: documents read per sweep", "listSessionsPage", "sessions list, operator", "sessions list, one user", "overview, operator", "overview, one user", "transaction limits"]) {
      expect(body.some((l) => l.startsWith(`| ${measure}`)), measure).toBe(true);
    }

    const out = JSON.parse(readFileSync(json, "utf8"));
    expect(out.sizes).toEqual([20, 200]);
    const large = out.stages[1];
    expect(large.stats).toMatchObject({ sessions: 200, running: 20, idle: 1, pausedPastArchive: 1, dueFlush: 1 });
    const calls = (name: string): Call[] => large.measures[name].calls;
    expect(calls("listIdleSessions")).toMatchObject([{ fn: "sessions:listIdle", documentsRead: 1, indexRanges: 1 }]);
    expect(calls("listUnsavedSessions")).toMatchObject([{ fn: "sessions:listUnsaved", documentsRead: 1, indexRanges: 2 }]);
    expect(calls("listSessionsPage")[0]!.documentsRead).toBe(200);
    expect(calls("overviewOperator").map((c) => c.fn)).toEqual(["sessions:list", "stats:summaries", "runs:list"]);
    expect(calls("overviewOperator").map((c) => c.documentsRead)).toEqual([200, 200, 100]);
  }, 120_000);
});
