// The change-feed benchmark (bench/change-feed.bench.mjs) on a 60-file workspace with a 2-second
// churn of 300 files: it runs to the end through the real embedded system (bubblewrap sandbox,
// SQLite, embedded object store), prints its table with a result per row, and what it counted is
// not zero (a broken store or object-store wrapper would print a table of zeros that still passes).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-bench-change-feed-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("change-feed benchmark", () => {
  it("counts the churn's store writes and a 1-file flush's uploads on a tiny workspace", () => {
    const json = path.join(dir, "change-feed.json");
    const run = spawnSync(process.execPath, ["bench/change-feed.bench.mjs"], {
      encoding: "utf8",
      env: {
        ...process.env,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --openssl-legacy-provider`.trim(),
        BENCH_DIR: dir,
        CF_WORKSPACE: "tiny",
        CF_CHURN_FILES: "300",
        CF_CHURN_SECONDS: "2",
        CF_ROUNDS: "1",
        CF_JSON: json,
      },
      timeout: 90_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const table = run.stdout.split("\n").filter((l) => l.startsWith("| "));
    expect(table[0]).toBe("| measure | figure | target | result | detail |");
    const body = table.slice(2);
    expect(body).toHaveLength(7);
    for (const line of body) expect(["PASS", "FAIL", "SKIP", "–"], line).toContain(line.split(" | ")[3]);

    const out = JSON.parse(readFileSync(json, "utf8"));
    expect(out.windowMs).toBeGreaterThan(0);
    expect(out.churn.files).toBe(300);
    // Every file the sandbox's own process wrote reached the store, in far fewer writes than files.
    expect(out.churn.rows).toBeGreaterThanOrEqual(300);
    expect(out.churn.recordChanges).toBeGreaterThan(0);
    expect(out.churn.storeWrites).toBeLessThan(20);
    expect(out.flush).toHaveLength(1);
    expect(out.flush[0].output.status).toBe("committed");
    expect(out.flush[0].uploaded).toBeGreaterThan(out.flush[0].fileBytes);
    expect(out.flush[0].byPrefix.manifests).toBeGreaterThan(0);
  }, 90_000);
});
