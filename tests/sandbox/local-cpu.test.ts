/** The local provider's CPU figure, from /proc, for sandboxes under real bubblewrap. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cpuLoad } from "../../src/core/cpu-activity";
import { createLocalProvider } from "../../src/sandbox/local/provider";

const root = mkdtempSync(path.join(os.tmpdir(), "torpor-cpu-"));
const provider = createLocalProvider({ root, bubblewrap: "required", log: () => {} });
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("local cpuUsage", () => {
  it("reads a busy loop as busy, a sleeper and a paused loop as ~0, counts reaped children, and a killed sandbox is gone", async () => {
    const busy = await provider.create({ template: "base", startCommand: "while :; do :; done" });
    const sleeper = await provider.create({ template: "base", startCommand: "sleep 600" });
    // Many short processes (a build's compiler runs): their seconds live on in the parent's cutime.
    const forks = await provider.create({ template: "base", startCommand: "while :; do sh -c 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done'; done" });
    const window = { from: Date.now() - 60_000, to: Date.now() };
    const [b, s, f] = await Promise.all([busy, sleeper, forks].map((x) => provider.cpuUsage!(x.id, window)));
    console.log(`local cpu: busy ${cpuLoad(b!)?.toFixed(2)}, sleeper ${cpuLoad(s!)?.toFixed(3)}, forks ${cpuLoad(f!)?.toFixed(2)} cores`);
    expect(cpuLoad(b!)).toBeGreaterThan(0.05);
    expect(cpuLoad(f!)).toBeGreaterThan(0.05);
    expect(cpuLoad(s!)).toBeLessThan(0.02);

    await provider.pause(busy.id);
    await provider.cpuUsage!(busy.id, window); // its window still holds the time before the pause
    const paused = await provider.cpuUsage!(busy.id, window);
    expect(cpuLoad(paused!)).toBeLessThan(0.05);

    for (const x of [busy, sleeper, forks]) await provider.kill(x.id);
    await expect(provider.cpuUsage!(busy.id, window)).rejects.toMatchObject({ code: "SANDBOX_GONE" });
  }, 60_000);
});

describe("local cpuUsage without processes", () => {
  it("answers 0 at once, without a probe", async () => {
    const empty = await provider.create({ template: "base" });
    const started = Date.now();
    const w = await provider.cpuUsage!(empty.id, { from: Date.now() - 60_000, to: Date.now() });
    expect(Date.now() - started).toBeLessThan(500);
    expect(cpuLoad(w!)).toBe(0);
    await provider.kill(empty.id);
  });
});
