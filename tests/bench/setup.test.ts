// The benchmarks' set-up path on a fresh clone: the first `npm run bench` installs the fixture's
// node_modules with stdout inherited, where execFileSync returns null (issue 13: it crashed).
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM module of the benchmarks, no types
import { ensureNodeModules, sh } from "../../bench/fixtures/setup.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-bench-setup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench set-up", () => {
  it("sh returns stdout when piped and an empty string when inherited", () => {
    expect(sh("echo", ["hello"])).toBe("hello\n");
    expect(sh("true", [], { stdio: "inherit" })).toBe("");
  });

  it("installs a fixture once into an empty cache, then reuses it", () => {
    const fixture = path.join(dir, "fixture");
    mkdirSync(fixture);
    // One local dependency, so that npm ci makes a node_modules without the network.
    const dep = path.join(fixture, "dep");
    mkdirSync(dep);
    writeFileSync(path.join(dep, "package.json"), JSON.stringify({ name: "tiny-dep", version: "1.0.0" }));
    writeFileSync(
      path.join(fixture, "package.json"),
      JSON.stringify({ name: "tiny-fixture", version: "1.0.0", private: true, dependencies: { "tiny-dep": "file:./dep" } }),
    );
    sh("npm", ["install", "--package-lock-only", "--no-audit", "--no-fund"], { cwd: fixture, stdio: "ignore" });
    const cache = path.join(dir, "cache", "tiny");
    const logs: string[] = [];
    expect(ensureNodeModules(cache, fixture, { log: (m: string) => logs.push(m), stdio: "ignore" })).toBe(true);
    expect(existsSync(path.join(cache, "node_modules", ".package-lock.json"))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(cache, "package.json"), "utf8")).name).toBe("tiny-fixture");
    expect(ensureNodeModules(cache, fixture, { log: (m: string) => logs.push(m), stdio: "ignore" })).toBe(false);
    expect(logs).toHaveLength(1);
  });
});
