/**
 * A flush's checkpoint of the changed paths (src/workflows/changed-paths-scan.ts): on a frozen
 * local sandbox the flush stat-scans only the folders of the pending rows' paths, on the latest
 * manifest. What the sandbox's own processes did there (a new file, a deleted folder, a rename, a
 * folder swapped for a symlink) must be in the checkpoint exactly as a full scan sees it, the
 * symlink recorded and never followed, and a restore of it must verify. A symlink among a root's
 * parents makes it fall back to the full scan; a row younger than the feed's window stays pending.
 */
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compareScan } from "../../src/checkpoint/engine/compare";
import { localDirTarget } from "../../src/checkpoint/index";
import type { FlushResult } from "../../src/workflows/flush";
import { createSessionWithFiles, requestId, runWorkflow, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const HOUR = 3600_000;
const OLD = () => Date.now() - 10 * 60_000;

const FILES = {
  "README.md": "# top\n",
  "app/src/main.ts": "export const main = 1;\n",
  "app/cache/c1.txt": "cache one\n",
  "app/cache/sub/c2.txt": "cache two\n",
  "app/names/old.txt": "renamed content\n",
  "app/data/d1.txt": "data one\n",
  "app/data/d2.txt": "data two\n",
  "deep/inner/f.txt": "deep file\n",
  "other/stay.txt": "untouched\n",
};

async function sessionWithCheckpoint(w: WorkflowRuntime) {
  const session = await createSessionWithFiles(w.runtime, FILES, { idleTimeoutMs: HOUR });
  const snap = await runWorkflow(w, { name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
  expect(snap.status, snap.error ?? "").toBe("completed");
  return { session, baseId: (await w.runtime.store.getSession(session.id)).latestCheckpointId! };
}

async function flush(w: WorkflowRuntime, sessionId: string): Promise<FlushResult> {
  const run = await runWorkflow(w, { name: "torpor/session.flush.requested", data: { sessionId, reason: "test", requestId: requestId() } });
  expect(run.status, run.error ?? "").toBe("completed");
  return JSON.parse(run.result!) as FlushResult;
}

describe("a flush of the changed paths", () => {
  it("holds what the sandbox's processes wrote, deleted, renamed and swapped, as a full scan sees it, and restores verified", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const { session, baseId } = await sessionWithCheckpoint(rt);
    const sandboxId = session.sandboxId!;
    const inside = await runtime.sandboxes.exec(
      sandboxId,
      "echo 'export const made = 2;' > app/src/made-inside.ts && echo fresh > app/src/fresh.ts && rm -rf app/cache && " +
        "mv app/names/old.txt app/names/new.txt && rm -rf app/data && ln -s ../src app/data && echo nobody-said > other/unreported.txt",
      { timeoutMs: 10_000 },
    );
    expect(inside.exitCode, inside.stderr).toBe(0);
    await runtime.store.recordChanges(session.id, [
      { path: "app/src/made-inside.ts", operation: "write", at: OLD() },
      { path: "app/cache/sub/c2.txt", operation: "delete", at: OLD() },
      { path: "app/cache", operation: "delete", at: OLD() },
      { path: "app/names/old.txt", operation: "rename", at: OLD() },
      { path: "app/names/new.txt", operation: "rename", at: OLD() },
      { path: "app/data", operation: "write", at: OLD() },
      // As the feed writes it: stamped now, its window perhaps still open elsewhere.
      { path: "app/src/fresh.ts", operation: "write", at: Date.now() },
    ]);

    const result = await flush(rt, session.id);
    expect(result).toMatchObject({ status: "committed", flushedChanges: 6 });
    const manifest = await runtime.checkpoints.readManifest(result.checkpointId!);
    expect(manifest.summary.parent).toBe(baseId);
    const paths = manifest.entries.map((e) => e.path);

    // The changed paths only: an unreported write in a folder nobody listed waits for the
    // hibernate's full scan. Everything else is exactly what a full scan of the sandbox sees.
    expect(paths).not.toContain("other/unreported.txt");
    const scan = (await runtime.sandboxes.scan(sandboxId)).filter((e) => e.path !== "other/unreported.txt");
    const comparison = compareScan(scan, manifest.entries, [], 10);
    expect(comparison.first).toEqual([]);
    expect(comparison.same).toBe(true);
    expect(paths).toEqual(expect.arrayContaining(["app/src/made-inside.ts", "app/src/fresh.ts", "app/names/new.txt", "other/stay.txt", "deep/inner/f.txt"]));
    expect(paths.filter((p) => p.startsWith("app/cache") || p === "app/names/old.txt")).toEqual([]);
    // The swapped folder is a symlink, never followed: nothing under it.
    expect(manifest.entries.find((e) => e.path === "app/data")).toMatchObject({ type: "symlink", target: "../src" });
    expect(paths.filter((p) => p.startsWith("app/data/"))).toEqual([]);
    // The fresh row is not marked: a checkpoint of listed paths leaves the feed's last window pending.
    expect((await runtime.store.listPendingChanges(session.id)).map((c) => c.path)).toEqual(["app/src/fresh.ts"]);

    expect((await runtime.checkpoints.verify(result.checkpointId!)).problems).toEqual([]);
    const out = mkdtempSync(path.join(os.tmpdir(), "torpor-flush-restore-"));
    dirs.push(out);
    await runtime.checkpoints.restore(result.checkpointId!, localDirTarget(out), { allowNonEmpty: true });
    for (const e of manifest.entries.filter((x) => x.type === "file")) {
      expect(readFileSync(path.join(out, e.path)), e.path).toEqual(await runtime.sandboxes.readFile(sandboxId, e.path));
    }
    expect(lstatSync(path.join(out, "app/data")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(out, "app/data"))).toBe("../src");
  }, 60_000);

  it("falls back to the full scan when a listed path's folder lies under a symlink", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const { session } = await sessionWithCheckpoint(rt);
    const sandboxId = session.sandboxId!;
    // 'deep' swapped for a symlink with no row of its own: the listed file's folder is under it.
    const inside = await runtime.sandboxes.exec(sandboxId, "rm -rf deep && ln -s app deep", { timeoutMs: 10_000 });
    expect(inside.exitCode, inside.stderr).toBe(0);
    await runtime.store.recordChanges(session.id, [{ path: "deep/inner/f.txt", operation: "write", at: OLD() }]);

    const result = await flush(rt, session.id);
    expect(result).toMatchObject({ status: "committed", flushedChanges: 1 });
    const manifest = await runtime.checkpoints.readManifest(result.checkpointId!);
    expect(manifest.entries.find((e) => e.path === "deep")).toMatchObject({ type: "symlink", target: "app" });
    expect(manifest.entries.filter((e) => e.path.startsWith("deep/"))).toEqual([]);
    expect(compareScan(await runtime.sandboxes.scan(sandboxId), manifest.entries).same).toBe(true);
  }, 60_000);

  it("reuses the latest checkpoint when the listed paths hold what it holds", async () => {
    rt = await startWorkflowRuntime();
    const { runtime } = rt;
    const session = await createSessionWithFiles(runtime, FILES, { idleTimeoutMs: HOUR });
    // Older than the checkpoint's read: no racy-stat doubt.
    await runtime.sandboxes.exec(session.sandboxId!, "find . -exec touch -h -d '2020-01-01 00:00:00' {} +", { timeoutMs: 10_000 });
    const snap = await runWorkflow(rt, { name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
    expect(snap.status, snap.error ?? "").toBe("completed");
    const baseId = (await runtime.store.getSession(session.id)).latestCheckpointId!;
    await runtime.store.recordChanges(session.id, [{ path: "app/src/main.ts", operation: "write", at: OLD() }]);
    expect(await flush(rt, session.id)).toMatchObject({ status: "reused", checkpointId: baseId, flushedChanges: 1 });
    expect(await runtime.store.listCheckpoints(session.id)).toHaveLength(1);
  }, 60_000);
});
