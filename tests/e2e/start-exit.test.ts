/**
 * `npm start`'s end when its child ends (scripts/child-exit.mjs, used by scripts/start.mjs for the
 * app process and the builds): a child killed by a signal is reported on stderr and the parent
 * exits 128 + the signal number; a clean exit stays 0 and silent; a failing one keeps its code.
 * Real processes: a parent that runs a child the way start.mjs does and exits like it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const HELPER = pathToFileURL(path.resolve("scripts/child-exit.mjs")).href;

function parentOf(childCode: string) {
  const parent = `
    import { spawn } from "node:child_process";
    import { exitLikeChild } from ${JSON.stringify(HELPER)};
    const child = spawn(process.execPath, ["-e", ${JSON.stringify(childCode)}], { stdio: "inherit" });
    child.on("exit", (code, signal) => exitLikeChild(code, signal));
  `;
  return spawnSync(process.execPath, ["--input-type=module", "-e", parent], { encoding: "utf8", timeout: 20_000 });
}

describe("npm start when its child ends", () => {
  it("reports a death by SIGKILL or SIGTERM and exits non-zero", () => {
    const killed = parentOf("process.kill(process.pid, 'SIGKILL')");
    expect(killed.status).toBe(137);
    expect(killed.stderr).toContain("Torpor: the Torpor app was killed by SIGKILL (out of memory? see `dmesg`); exiting with 137");
    const terminated = parentOf("process.kill(process.pid, 'SIGTERM')");
    expect(terminated.status).toBe(143);
    expect(terminated.stderr).toContain("killed by SIGTERM");
  });

  it("a clean exit is 0 and silent; an error exit keeps its code", () => {
    const clean = parentOf("process.exit(0)");
    expect([clean.status, clean.stderr]).toEqual([0, ""]);
    const failed = parentOf("process.exit(3)");
    expect(failed.status).toBe(3);
    expect(failed.stderr).toContain("exited with code 3");
  });

  it("start.mjs ends through it, for the app and for the builds", () => {
    const start = readFileSync("scripts/start.mjs", "utf8");
    expect(start).toContain('child.on("exit", (code, signal) => exitLikeChild(code, signal));');
    expect(start).toMatch(/result\.status !== 0\) exitLikeChild\(result\.status, result\.signal/);
  });
});
