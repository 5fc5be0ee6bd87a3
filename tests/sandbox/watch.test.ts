/**
 * The local change feed's own limits (src/sandbox/local/watch.ts): a burst of distinct paths
 * larger than its queue ends the feed through onError (the caller then probes), instead of
 * queueing without bound on the app's event loop.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { watchFolder } from "../../src/sandbox/local/watch";
import { eventually } from "./helpers";

const base = mkdtempSync(path.join(tmpdir(), "torpor-watch-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("the local change feed", () => {
  it("overflows into onError when more distinct paths wait than its queue holds, and reports a smaller burst in full", async () => {
    const small = path.join(base, "small");
    const big = path.join(base, "big");
    for (const dir of [small, big]) spawnSync("mkdir", ["-p", dir]);
    const seen: string[] = [];
    const errors: Error[] = [];
    const stopSmall = await watchFolder(small, (events) => seen.push(...events.map((e) => e.path)), { debounceMs: 20, maxQueued: 100 });
    const stopBig = await watchFolder(big, () => {}, { debounceMs: 20, maxQueued: 100, onError: (e) => errors.push(e) });
    // Made while this thread is blocked in spawnSync: the kernel queues every event, and they
    // reach the feed together, as an `npm install` would deliver them. The big burst is folders:
    // each new folder is listed (an await), so the queue fills while the feed lists the first.
    spawnSync("sh", ["-c", `cd ${small} && for i in $(seq 1 50); do echo x > s$i; done; cd ${big} && mkdir $(seq -f 'd%g' 1 3000)`]);
    await eventually(() => errors.length > 0 || null, "the big burst overflows the feed");
    expect(errors[0]!.message).toMatch(/change feed overflow: more than 100 paths/);
    await eventually(() => new Set(seen).size === 50 || null, "every file of the small burst is reported");
    await stopSmall();
    await stopBig();
  });
});
