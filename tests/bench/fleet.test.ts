// The fleet benchmark (bench/fleet.bench.mjs) at a very small scale: it runs to the end, prints
// its markdown table with a result per row, and what it counted is not zero (a broken counting
// wrapper or a sweep that found nothing would print a table of zeros that still "passes").
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-bench-fleet-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("fleet benchmark", () => {
  it("prints its table at 200 sessions and a 5-session bucket, with non-zero counts", () => {
    const json = path.join(dir, "fleet.json");
    const run = spawnSync(process.execPath, ["bench/fleet.bench.mjs"], {
      encoding: "utf8",
      env: { ...process.env, FLEET_SESSIONS: "200", FLEET_BUCKET_SESSIONS: "5", FLEET_SHARED_FILES: "30", FLEET_JSON: json },
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const table = run.stdout.split("\n").filter((l) => l.startsWith("| "));
    expect(table[0]).toBe("| measure | figure | target | result | detail |");
    const body = table.slice(1);
    expect(body.length).toBeGreaterThanOrEqual(12);
    for (const line of body) {
      const cells = line.split(" | ");
      expect(cells.length, line).toBeGreaterThanOrEqual(5);
      expect(["PASS", "FAIL", "SKIP", "–"], line).toContain(cells[3]);
    }
    for (const measure of ["idle sweep", "store rows read per sweep", "sessions.list", "overview.get", "retention, successive runs", "first snapshot", "gc after 1 new checkpoint", "gc after 5 new checkpoints"]) {
      expect(body.some((l) => l.startsWith(`| ${measure}`)), measure).toBe(true);
    }

    const out = JSON.parse(readFileSync(json, "utf8"));
    expect(out.store.sweep.result.hibernate).toBe(1);
    expect(out.store.sweep.result.archive).toBe(1);
    expect(out.store.sweep.counts.rows.listIdleSessions).toBe(1);
    expect(out.store.retention.covered).toBe(200);
    expect(out.store.retention.done).toBe(true);
    expect(out.store.sweep.result.flush).toBe(out.store.stats.unsaved);
    expect(out.bucket.first.full[0].c.GET).toBeGreaterThan(0);
    expect(out.bucket.first.empty[0].c.PUT).toBeGreaterThan(0);
    expect(out.bucket.gc.map((g: { manifestReads: number }) => g.manifestReads)).toEqual([1, 5]);
    expect(out.bucket.gc[1].requests.GET).toBeGreaterThan(out.bucket.gc[0].requests.GET);
  }, 60_000);
});
