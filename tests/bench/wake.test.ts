// The wake benchmark (bench/wake.bench.mjs) at 2 rounds: it runs to the end on the real embedded
// system, prints its table, and what it measured is real (a wake slower than the running baseline,
// the resume run recorded, every round's file read back unchanged, or the bench exits non-zero).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-bench-wake-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("wake benchmark", () => {
  it("prints its table at 2 rounds, with a wake that takes longer than a read of a running session", () => {
    const run = spawnSync(process.execPath, ["bench/wake.bench.mjs"], {
      encoding: "utf8",
      env: { ...process.env, WAKE_ROUNDS: "2", WAKE_JSON: path.join(dir, "wake.json"), NODE_OPTIONS: "--openssl-legacy-provider" },
      timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const table = run.stdout.split("\n").filter((l) => l.startsWith("| "));
    expect(table[0]).toBe("| measure | median | p90 | vs baseline |");
    expect(table.slice(1).map((l) => l.split(" | ")[0])).toEqual([
      "| files.read on the running session (baseline)",
      "| the resume run, start to end (the store's run record, ms resolution)",
      "| focus ping → sessions.waitReady answers ready",
      "| focus ping → first files.read answered",
    ]);
    const out = JSON.parse(readFileSync(path.join(dir, "wake.json"), "utf8")) as {
      rounds: { readyMs: number; firstReadMs: number; runMs: number }[];
      baseline: number[];
    };
    expect(out.rounds).toHaveLength(2);
    for (const r of out.rounds) {
      expect(r.runMs).toBeGreaterThan(0);
      expect(r.firstReadMs).toBeGreaterThanOrEqual(r.readyMs);
    }
    expect(Math.min(...out.rounds.map((r) => r.readyMs))).toBeGreaterThan(Math.min(...out.baseline));
  }, 150_000);
});
