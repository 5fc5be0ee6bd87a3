/**
 * The change feed (src/runtime/change-feed) on the local provider with real components: what a
 * sandbox's own processes write becomes coalesced change rows and activity; watchers start again
 * after a resume and after an app restart; a watcher that drops events falls back to a probe.
 * Under a session's "api" activity policy the same writes become rows but not activity.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { compareScan } from "../../src/checkpoint/engine/compare";
import type { ActivityPolicy, Session } from "../../src/core/types";
import type { SandboxProvider } from "../../src/sandbox/types";
import { requestId, runWorkflow, startWorkflowRuntime, waitUntil, type WorkflowRuntime } from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
let dirs: string[] = [];
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

async function liveSession(w: WorkflowRuntime, startCommand?: string, idleTimeoutMs?: number, activity?: ActivityPolicy): Promise<Session> {
  const { runtime } = w;
  const info = await runtime.sandboxes.create({ template: "base", startCommand });
  return runtime.store.createSession({
    ownerId: "alice",
    provider: runtime.sandboxes.kind,
    template: "base",
    idleTimeoutMs: idleTimeoutMs ?? runtime.config.lifecycle.idleTimeoutMs,
    sandboxId: info.id,
    activity,
  });
}

const pendingPaths = async (w: WorkflowRuntime, sessionId: string) =>
  new Set((await w.runtime.store.listPendingChanges(sessionId, 100_000)).map((c) => c.path));

describe("the change feed", () => {
  it("turns a build writing 10,000 files into change rows with a bounded number of store writes", async () => {
    rt = await startWorkflowRuntime({ changeFeed: { syncEveryMs: 0 }, env: { TORPOR_CHANGE_COALESCE_MS: "1000" } });
    const { runtime } = rt;
    const session = await liveSession(rt);
    await runtime.changeFeed!.sync();
    const before = runtime.changeFeed!.stats().storeWrites;
    const started = Date.now();
    const build = await runtime.sandboxes.exec(session.sandboxId!, "mkdir -p out && i=0; while [ $i -lt 10000 ]; do i=$((i+1)); echo $i > out/f$i; done", { timeoutMs: 60_000 });
    expect(build.exitCode, build.stderr).toBe(0);
    const paths = await waitUntil("10,000 change rows", () => pendingPaths(rt!, session.id), (p) => p.size >= 10_001, { everyMs: 250 });
    const seconds = (Date.now() - started) / 1000;
    const stats = runtime.changeFeed!.stats();
    const writes = stats.storeWrites - before;
    console.log(
      `change feed: 10,000 files in ${seconds.toFixed(1)} s -> ${stats.events} events, ${writes} store writes (window ${runtime.config.lifecycle.changeCoalesceMs} ms)`,
    );
    expect(paths.has("out/f1") && paths.has("out/f10000")).toBe(true);
    // One recordChanges per 1,000 rows plus one change write and one activity write per window.
    expect(writes).toBeLessThanOrEqual(10 + 2 * Math.ceil(seconds / 1) + 4);
    expect((await runtime.store.getSession(session.id)).lastActivityKind).toBe("file");
  }, 90_000);

  it("watches again after a resume, and after an app restart finds what was written while nobody watched", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "torpor-feed-"));
    dirs.push(dir);
    const feed = { syncEveryMs: 0 };
    rt = await startWorkflowRuntime({ dir, changeFeed: feed, env: { TORPOR_CHANGE_COALESCE_MS: "50" } });
    const session = await liveSession(rt);
    const sandboxId = session.sandboxId!;
    await rt.runtime.changeFeed!.sync();
    const hibernate = await runWorkflow(rt, {
      name: "torpor/session.hibernate.requested",
      data: { sessionId: session.id, reason: "test", requestId: requestId() },
    });
    expect(hibernate.status, hibernate.error ?? "").toBe("completed");
    await rt.runtime.changeFeed!.sync();
    expect(rt.runtime.changeFeed!.stats().watched).toBe(0);
    const resume = await runWorkflow(rt, {
      name: "torpor/session.resume.requested",
      data: { sessionId: session.id, reason: "test", requestId: requestId() },
    });
    expect(resume.status, resume.error ?? "").toBe("completed");
    await rt.runtime.changeFeed!.sync();
    expect(rt.runtime.changeFeed!.stats().watched).toBe(1);
    await rt.runtime.sandboxes.exec(sandboxId, "echo after-resume > a.txt");
    await waitUntil("a row for a.txt", () => pendingPaths(rt!, session.id), (p) => p.has("a.txt"));

    // The app stops; the sandbox's processes do not. A new runtime on the same data dir probes.
    await rt.runtime.close();
    rt = undefined;
    const cmd = await import("node:child_process");
    const workspace = path.join(dir, "sandboxes", sandboxId, "workspace");
    cmd.execSync(`echo while-down > ${path.join(workspace, "b.txt")}`);
    rt = await startWorkflowRuntime({ dir, changeFeed: feed, env: { TORPOR_CHANGE_COALESCE_MS: "50" } });
    expect(rt.runtime.changeFeed!.stats().watched).toBe(1);
    expect(await pendingPaths(rt, session.id)).toContain("b.txt");
    await rt.runtime.sandboxes.exec(sandboxId, "echo after-restart > c.txt");
    await waitUntil("a row for c.txt", () => pendingPaths(rt!, session.id), (p) => p.has("c.txt"));
  }, 60_000);

  it("falls back to a probe when the watcher drops events, then watches again", async () => {
    let drops = 0;
    // A watcher whose queue overflowed: it delivers nothing and says so once.
    const lossy = (inner: SandboxProvider): SandboxProvider =>
      Object.assign(Object.create(inner) as SandboxProvider, {
        async watch(id: string, onEvents: Parameters<SandboxProvider["watch"]>[1], onDropped?: (reason: string) => void) {
          if (drops > 0) return inner.watch(id, onEvents, onDropped);
          const stop = await inner.watch(id, () => undefined, onDropped);
          setTimeout(() => drops++ === 0 && onDropped?.("test: event queue overflow"), 400);
          return stop;
        },
      });
    rt = await startWorkflowRuntime({ wrapSandboxes: lossy, changeFeed: { syncEveryMs: 0 }, env: { TORPOR_CHANGE_COALESCE_MS: "50" } });
    const session = await liveSession(rt);
    await rt.runtime.changeFeed!.sync();
    await rt.runtime.sandboxes.exec(session.sandboxId!, "mkdir -p src && echo 1 > src/lost-event.ts");
    const found = await waitUntil("the probe's row", () => pendingPaths(rt!, session.id), (p) => p.has("src/lost-event.ts"));
    expect(found).toContain("src");
    expect(rt.runtime.changeFeed!.stats().probes).toBeGreaterThanOrEqual(2);
    await waitUntil("the watcher back", () => rt!.runtime.changeFeed!.stats().probes, (n) => n >= 3);
    // Watching again, for real this time.
    await rt.runtime.sandboxes.exec(session.sandboxId!, "echo 2 > later.ts");
    await waitUntil("a row for later.ts", () => pendingPaths(rt!, session.id), (p) => p.has("later.ts"));
  }, 60_000);

  it("records what the sandbox writes while a flush holds the lease (the sandbox keeps running), not under a hibernate's", async () => {
    rt = await startWorkflowRuntime({ changeFeed: { syncEveryMs: 0 }, env: { TORPOR_CHANGE_COALESCE_MS: "50" } });
    const { runtime } = rt;
    const session = await liveSession(rt);
    await runtime.changeFeed!.sync();
    // A flush (operation "snapshot") holds the lease: the session stays running.
    expect((await runtime.store.acquireLease(session.id, { holder: "run_flush", operation: "snapshot", ttlMs: 60_000 })).ok).toBe(true);
    await runtime.sandboxes.exec(session.sandboxId!, "echo during > during-flush.ts");
    await waitUntil("a row written under the flush's lease", () => pendingPaths(rt!, session.id), (p) => p.has("during-flush.ts"));
    await runtime.store.releaseLease(session.id, "run_flush");
    // A hibernate's lease, before its state moves: the feed leaves the rows to the hibernate's scan.
    expect((await runtime.store.acquireLease(session.id, { holder: "run_hib", operation: "hibernate", ttlMs: 60_000 })).ok).toBe(true);
    const dropped = runtime.changeFeed!.stats().dropped;
    await runtime.sandboxes.exec(session.sandboxId!, "echo during > during-hibernate.ts");
    await waitUntil("the event dropped", () => runtime.changeFeed!.stats().dropped, (n) => n > dropped);
    expect(await pendingPaths(rt, session.id)).not.toContain("during-hibernate.ts");
  }, 60_000);
});

describe("in-sandbox work is activity", () => {
  it("a sandbox that keeps writing never hibernates; once it stops it sleeps within timeout + sweep period", async () => {
    rt = await startWorkflowRuntime({
      startCron: true,
      changeFeed: { syncEveryMs: 200 },
      env: { TORPOR_SWEEP_CRON: "* * * * * *", TORPOR_CHANGE_COALESCE_MS: "100" },
    });
    const { runtime } = rt;
    // Scaled down from "a file every 5 s, a 5 min timeout": a file every 0.4 s, a 2 s timeout.
    const session = await liveSession(rt, "while [ ! -e stop ]; do date +%s%N > clock.txt; sleep 0.4; done; sleep 600", 2000);
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      expect((await runtime.store.getSession(session.id)).state).toBe("running");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await runtime.store.listRuns({ sessionId: session.id, workflow: "hibernate-session" })).length).toBe(0);
    await runtime.sandboxes.writeFile(session.sandboxId!, "stop", "");
    const stoppedAt = Date.now();
    const paused = await waitUntil("the idle session to sleep", () => runtime.store.getSession(session.id), (s) => s.state === "paused", { timeoutMs: 15_000 });
    const tookMs = Date.now() - stoppedAt;
    console.log(`idle: slept ${tookMs} ms after its last write (timeout 2000 ms, sweep every 1000 ms); reason: ${paused.sleepReason?.detail}`);
    expect(tookMs).toBeLessThan(2000 + 1000 + 3000);
  }, 60_000);

  it("under the 'api' policy the same writes are saved as change rows but do not keep it awake: it sleeps within timeout + sweep, all saved", async () => {
    rt = await startWorkflowRuntime({
      startCron: true,
      changeFeed: { syncEveryMs: 200 },
      env: { TORPOR_SWEEP_CRON: "* * * * * *", TORPOR_CHANGE_COALESCE_MS: "100" },
    });
    const { runtime } = rt;
    // Scaled down as above: a file every 0.4 s (a new one each time, and one rewritten), a 2 s timeout.
    const writer = "i=0; while true; do i=$((i+1)); echo $i > clock.txt; echo $i > n$i.txt; sleep 0.4; done";
    const awake = await liveSession(rt, writer, 2000);
    const apiOnly = await liveSession(rt, writer, 2000, "api");
    const startedAt = Date.now();
    await waitUntil("rows for the api-only session's writes", () => pendingPaths(rt!, apiOnly.id), (p) => p.has("clock.txt") && p.has("n2.txt"));
    const before = await runtime.store.getSession(apiOnly.id);
    expect(before).toMatchObject({ state: "running", lastActivityAt: apiOnly.lastActivityAt, lastActivityKind: "api" });

    const paused = await waitUntil("the api-only session to sleep", () => runtime.store.getSession(apiOnly.id), (s) => s.state === "paused", { timeoutMs: 15_000 });
    const tookMs = Date.now() - startedAt;
    console.log(`activity "api": slept ${tookMs} ms after its start while writing every 0.4 s (timeout 2000 ms, sweep every 1000 ms); reason: ${paused.sleepReason?.detail}`);
    expect(tookMs).toBeLessThan(2000 + 1000 + 3000);
    // Saved: the hibernate's checkpoint holds exactly what the paused (frozen) sandbox holds, and no row is left pending.
    const [scan, manifest] = await Promise.all([runtime.sandboxes.scan(apiOnly.sandboxId!), runtime.checkpoints.readManifest(paused.latestCheckpointId!)]);
    expect(compareScan(scan, manifest.entries, runtime.config.checkpoint.ignore).same).toBe(true);
    expect(manifest.entries.filter((e) => /^n\d+\.txt$/.test(e.path)).length).toBeGreaterThanOrEqual(3);
    expect(await runtime.store.listPendingChanges(apiOnly.id)).toEqual([]);

    // The same writer under "api+files" stays awake the whole time.
    while (Date.now() < startedAt + 6000) {
      expect((await runtime.store.getSession(awake.id)).state).toBe("running");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await runtime.store.getSession(awake.id)).lastActivityKind).toBe("file");
    expect((await runtime.store.listRuns({ sessionId: awake.id, workflow: "hibernate-session" })).length).toBe(0);
  }, 60_000);
});
