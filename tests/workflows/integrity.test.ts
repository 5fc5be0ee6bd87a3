/**
 * "A corrupt or hostile checkpoint is refused, never half-restored", at the workflow level, on
 * real components (SQLite file, embedded S3, local sandboxes, embedded engine):
 *
 * - resume of an archived session whose latest checkpoint has a damaged pack, large blob or
 *   manifest: the run fails at once (an integrity error is not retried), the session is archived
 *   again with lastError naming the problem, the sandbox made for the restore is removed, no other
 *   object changed; once the object is repaired a second resume restores every file (bytes, mode,
 *   symlink target).
 * - restore-to-checkpoint of a running session to a damaged earlier checkpoint: the session goes
 *   back to running on its old sandbox, files unchanged, and the safety checkpoint is committed.
 * - a hostile manifest ("..", absolute path, a file under a symlink) committed as a checkpoint row:
 *   resume and restore refuse it and nothing is written outside the new sandbox's workspace.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resumeFunction, setWorkflowDeps } from "../../inngest";
import { runModelled } from "../inngest/executor";
import { localDirTarget, type ManifestEntry } from "../../src/checkpoint/index";
import { EMPTY_HASH, encodeManifest, keys } from "../../src/checkpoint/repo/format";
import type { RunRecord, Session } from "../../src/core/types";
import { sandboxWorkspace } from "../../src/sandbox";
import type { ResumeResult } from "../../src/workflows/resume";
import type { RestoreToCheckpointResult } from "../../src/workflows/restore-to-checkpoint";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  requestId,
  sampleFiles,
  sha256,
  startWorkflowRuntime,
  type FileSet,
  type WorkflowRuntime,
  expectFailedWithoutRetry,
  runWorkflow,
  stepOf,
} from "../helpers/runtime";

/** Files over 8 KiB are standalone blobs; the rest go into packs. */
const SMALL_FILE_BYTES = 8192;

let rt: WorkflowRuntime | undefined;
const cleanup: string[] = [];
/** A refused restore must fail its run, not throw where nothing listens (that kills the process). */
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => void uncaught.push(error);
beforeEach(() => {
  uncaught.length = 0;
  process.on("uncaughtException", onUncaught);
});
afterEach(async () => {
  process.off("uncaughtException", onUncaught);
  setWorkflowDeps(undefined);
  await rt?.close();
  rt = undefined;
  for (const dir of cleanup.splice(0)) await rm(dir, { recursive: true, force: true });
  expect(uncaught.map(String)).toEqual([]);
});

async function start(): Promise<WorkflowRuntime> {
  rt = await startWorkflowRuntime({ env: { TORPOR_SMALL_FILE_BYTES: String(SMALL_FILE_BYTES) } });
  return rt;
}

const run = (event: TorporEvent) => runWorkflow(rt!, event);

const resume = (sessionId: string) =>
  run({ name: "torpor/session.resume.requested", data: { sessionId, reason: "editor opened", requestId: requestId("resume") } });
const restoreTo = (sessionId: string, checkpointId: string) =>
  run({ name: "torpor/session.restore.requested", data: { sessionId, checkpointId, requestId: requestId("restore") } });

function sandboxRoot(): string {
  const sandbox = rt!.config.sandbox;
  if (sandbox.kind !== "local") throw new Error("these tests need the local sandbox provider");
  return sandbox.root;
}
const workspaceOf = (sandboxId: string) => path.join(sandboxRoot(), sandboxId, "workspace");

/** What a restore must reproduce: per path its type, permission bits, and SHA-256 or link target. */
type Tree = Record<string, string>;

async function hostTree(dir: string, rel = ""): Promise<Tree> {
  const out: Tree = {};
  for (const name of (await fs.readdir(path.join(dir, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const abs = path.join(dir, p);
    const st = await fs.lstat(abs);
    const mode = (st.mode & 0o777).toString(8);
    if (st.isSymbolicLink()) out[p] = `link -> ${await fs.readlink(abs)}`;
    else if (st.isDirectory()) {
      out[p] = `dir ${mode}`;
      Object.assign(out, await hostTree(dir, p));
    } else out[p] = `file ${mode} ${sha256(await fs.readFile(abs))}`;
  }
  return out;
}

/** Sample files plus a large file (a standalone blob), an executable script and two symlinks. */
async function createRichSession(seed: string): Promise<{ session: Session; files: FileSet }> {
  const files: FileSet = { ...sampleFiles(seed), "big/large.bin": randomBytes(3 * SMALL_FILE_BYTES + 123) };
  const session = await createSessionWithFiles(rt!.runtime, files);
  const ws = workspaceOf(session.sandboxId!);
  await fs.writeFile(path.join(ws, "run.sh"), `#!/bin/sh\necho ${seed}\n`);
  await fs.chmod(path.join(ws, "run.sh"), 0o755);
  await fs.chmod(path.join(ws, "notes/note-0.txt"), 0o600);
  await fs.symlink("src/index.ts", path.join(ws, "link-to-index"));
  await fs.symlink("/etc/hostname", path.join(ws, "absolute-link"));
  return { session, files };
}

async function allObjects(): Promise<Record<string, string>> {
  const objects = rt!.runtime.objects;
  const out: Record<string, string> = {};
  for await (const item of objects.list("")) out[item.key] = sha256(await objects.getBuffer(item.key));
  return out;
}

type Damage = "flip" | "truncate" | "delete";

/** Flips a few bytes in the middle of an object, cuts off its second half, or deletes it; returns the original bytes. */
async function damage(key: string, how: Damage = "flip"): Promise<Buffer> {
  const objects = rt!.runtime.objects;
  const original = Buffer.from(await objects.getBuffer(key));
  if (how === "delete") {
    await objects.delete([key]);
    return original;
  }
  const damaged = Buffer.from(how === "truncate" ? original.subarray(0, Math.floor(original.length / 2)) : original);
  const at = Math.floor(damaged.length / 2);
  if (how === "flip") for (let i = at; i < Math.min(at + 4, damaged.length); i++) damaged[i] = damaged[i]! ^ 0x5a;
  await objects.put(key, damaged);
  return original;
}

/** Sandbox ids whose workspace folder still exists on the host. */
async function liveSandboxFolders(): Promise<string[]> {
  const root = sandboxRoot();
  const names = existsSync(root) ? await fs.readdir(root) : [];
  return names.filter((name) => existsSync(path.join(root, name, "workspace"))).sort();
}

/** The sandbox a run created for its restore (from the journaled step output). */
function createdSandbox(record: RunRecord): string | null {
  const step = record.steps.find((s) => s.name === "Create a new sandbox from the template" && s.status === "completed");
  return step ? (JSON.parse(step.output!) as { id: string }).id : null;
}


/** Hibernate then archive: the sandbox is killed, only the checkpoint remains. */
async function archive(session: Session): Promise<Session> {
  expect((await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } })).status).toBe("completed");
  expect((await run({ name: "torpor/session.archive.requested", data: { sessionId: session.id, reason: "old", requestId: requestId() } })).status).toBe("completed");
  const archived = await rt!.runtime.store.getSession(session.id);
  expect(archived).toMatchObject({ state: "archived", sandboxId: null, lease: null });
  expect(await liveSandboxFolders()).toEqual([]);
  return archived;
}

/** Asserts the failed resume left a clean archived session, removed its sandbox, touched no object. */
async function expectRefusedResume(record: RunRecord, sessionId: string, problem: RegExp, objectsBefore: Record<string, string>) {
  expect(record.status).toBe("failed");
  expect(record.error).toMatch(problem);
  // Refused at once: an integrity error is not worth a retry.
  expectFailedWithoutRetry(record, "Restore the checkpoint into the new sandbox", problem);
  expect(record.steps.map((s) => s.name)).not.toContain("Point the session at the new sandbox");
  expect(stepOf(record, "Put the session back to sleep after a failure").status).toBe("completed");

  const session = await rt!.runtime.store.getSession(sessionId);
  expect(session).toMatchObject({ state: "archived", sandboxId: null, lease: null });
  expect(session.lastError).toMatch(/^resume failed: /);
  expect(session.lastError).toMatch(problem);

  const created = createdSandbox(record);
  expect(created).not.toBeNull();
  expect(await rt!.runtime.sandboxes.status(created!)).toBe("gone");
  expect(await liveSandboxFolders()).toEqual([]);
  expect(await allObjects()).toEqual(objectsBefore);
}

describe("a damaged checkpoint on resume", () => {
  const onlyPack = (objects: string[]) => {
    const packs = objects.filter((k) => k.startsWith("packs/"));
    expect(packs).toHaveLength(1);
    return packs[0]!;
  };
  const cases: { what: string; how?: Damage; problem: RegExp; key: (checkpointId: string, large: string, objects: string[]) => string }[] = [
    {
      what: "a pack",
      problem: /Pack [0-9a-f]{64}.*(hash mismatch|cannot decompress).*corrupt, truncated or tampered/,
      key: (_cp, _large, objects) => onlyPack(objects),
    },
    {
      what: "a large blob",
      problem: /Blob [0-9a-f]{64}.*(hash mismatch|cannot decompress).*corrupt, truncated or tampered/,
      key: (_cp, large) => keys.blob(large),
    },
    {
      what: "the manifest",
      problem: /manifest refused \(hash mismatch: corrupt, truncated or tampered\)/,
      key: (cp) => keys.manifest(cp),
    },
    {
      what: "a truncated large blob",
      how: "truncate",
      problem: /Blob [0-9a-f]{64}.*(hash mismatch|cannot decompress).*corrupt, truncated or tampered/,
      key: (_cp, large) => keys.blob(large),
    },
    { what: "a missing pack", how: "delete", problem: /packs\/[0-9a-f]{64}/, key: (_cp, _large, objects) => onlyPack(objects) },
    { what: "a missing large blob", how: "delete", problem: /blobs\/[0-9a-f]{64}/, key: (_cp, large) => keys.blob(large) },
    { what: "a missing manifest", how: "delete", problem: /No checkpoint 'cp_[0-9a-z]+'/, key: (cp) => keys.manifest(cp) },
  ];

  for (const c of cases) {
    it(`${c.what}: refused at once, archived again with a clear error, no sandbox left; repaired, resume restores every file`, async () => {
      const { runtime } = await start();
      const { session, files } = await createRichSession(`damaged-${c.what}`);
      const expected = await hostTree(workspaceOf(session.sandboxId!));
      expect(expected["run.sh"]).toMatch(/^file 755 /);
      expect(expected["link-to-index"]).toBe("link -> src/index.ts");
      const archived = await archive(session);
      const checkpointId = archived.latestCheckpointId!;
      expect(await runtime.store.getCheckpoint(checkpointId)).toMatchObject({ status: "committed" });

      const before = await allObjects();
      const large = sha256(files["big/large.bin"]!);
      expect(Object.keys(before)).toContain(keys.blob(large));
      const key = c.key(checkpointId, large, Object.keys(before));
      const original = await damage(key, c.how);
      const damagedObjects = await allObjects();

      const failed = await resume(session.id);
      await expectRefusedResume(failed, session.id, c.problem, damagedObjects);
      expect((await runtime.store.getSession(session.id)).latestCheckpointId).toBe(checkpointId);

      // Repaired: the same checkpoint restores, byte for byte, with modes and link targets.
      await runtime.objects.put(key, original);
      expect(await allObjects()).toEqual(before);
      const resumed = await resume(session.id);
      expect(resumed.status).toBe("completed");
      const result = JSON.parse(resumed.result!) as ResumeResult;
      expect(result).toMatchObject({ rung: "restored", checkpointId });
      const s = await runtime.store.getSession(session.id);
      expect(s).toMatchObject({ state: "running", sandboxId: result.sandboxId, lease: null });
      expect(await hostTree(workspaceOf(result.sandboxId!))).toEqual(expected);
      expect(await liveSandboxFolders()).toEqual([result.sandboxId]);
    });
  }
});

describe("restore to a damaged earlier checkpoint", () => {
  it("fails at once, the session is running again on its old sandbox with its files, the safety checkpoint is committed", async () => {
    const { runtime } = await start();
    const { session, files } = await createRichSession("restore-damaged");
    const first = await run({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: "first", requestId: requestId() } });
    expect(first.status).toBe("completed");
    const earlier = (await runtime.store.getSession(session.id)).latestCheckpointId!;

    // The large file changes afterwards: its earlier content is a blob only the earlier checkpoint has.
    const ws = workspaceOf(session.sandboxId!);
    await runtime.sandboxes.writeFile(session.sandboxId!, "big/large.bin", randomBytes(2 * SMALL_FILE_BYTES));
    await runtime.sandboxes.writeFile(session.sandboxId!, "README.md", "# changed after the first checkpoint\n");
    await runtime.store.recordChanges(session.id, [
      { path: "big/large.bin", operation: "write" },
      { path: "README.md", operation: "write" },
    ]);
    const current = await hostTree(ws);
    await damage(keys.blob(sha256(files["big/large.bin"]!)));
    const checkpointsBefore = (await runtime.store.listCheckpoints(session.id)).map((c) => c.id);

    const failed = await restoreTo(session.id, earlier);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/Blob [0-9a-f]{64}.*corrupt, truncated or tampered/);
    expectFailedWithoutRetry(failed, "Restore the checkpoint into the new sandbox", /corrupt, truncated or tampered/);
    expect(stepOf(failed, "Return the session to a resting state after a failure").status).toBe("completed");

    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "running", sandboxId: session.sandboxId, lease: null });
    expect(s.lastError).toMatch(/^restore failed: Blob [0-9a-f]{64}.*corrupt, truncated or tampered/);
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("running");
    expect(await hostTree(ws)).toEqual(current);
    const created = createdSandbox(failed);
    expect(created).not.toBeNull();
    expect(await runtime.sandboxes.status(created!)).toBe("gone");
    expect(await liveSandboxFolders()).toEqual([session.sandboxId]);

    // The safety checkpoint is committed, is the session's latest, and holds the current files.
    const safetyStep = stepOf(failed, "Take a safety checkpoint of the current files");
    const safety = JSON.parse(safetyStep.output!) as string;
    expect(checkpointsBefore).not.toContain(safety);
    expect(await runtime.store.getCheckpoint(safety)).toMatchObject({ status: "committed", sessionId: session.id });
    expect(s.latestCheckpointId).toBe(safety);
    expect(await runtime.store.listPendingChanges(session.id)).toEqual([]);
    const out = await mkdtemp(path.join(os.tmpdir(), "torpor-safety-"));
    cleanup.push(out);
    await runtime.checkpoints.restore(safety, localDirTarget(out), { allowNonEmpty: true });
    expect(await hostTree(out)).toEqual(current);
  });
});

describe("a hostile checkpoint", () => {
  const file = (p: string, mode = 0o644): ManifestEntry => ({ path: p, type: "file", mode, size: 0, mtimeMs: 0, hash: EMPTY_HASH });
  const dir = (p: string): ManifestEntry => ({ path: p, type: "dir", mode: 0o755, size: 0, mtimeMs: 0 });

  /** Hostile manifests as an attacker with write access to the bucket could plant them: well-formed, with matching ids. */
  const variants: { what: string; entries: (outside: string) => ManifestEntry[]; reason: RegExp }[] = [
    { what: "a '..' path", entries: () => [dir("src"), file("src/ok.txt"), file("../escape"), file("src/../../escape2")], reason: /refused entry '\.\.\/escape': '\.\.' segment/ },
    { what: "an absolute path", entries: (outside) => [dir("src"), file("src/ok.txt"), file(`${outside}/absolute.txt`)], reason: /refused entry '\/.*absolute\.txt': absolute path/ },
    {
      what: "a file under a symlink",
      entries: (outside) => [
        dir("src"),
        file("src/ok.txt"),
        { path: "link", type: "symlink", mode: 0o777, size: outside.length, mtimeMs: 0, target: outside },
        file("link/evil.txt", 0o755),
      ],
      reason: /refused entry 'link\/evil\.txt': under the symlink 'link'/,
    },
  ];

  async function plant(sessionId: string, entries: ManifestEntry[], createdAt: number): Promise<string> {
    const header = { parent: null, createdAt, files: entries.filter((e) => e.type === "file").length, dirs: 1, symlinks: 0, bytes: 0, meta: {} };
    const { id, body } = encodeManifest({ header, entries, locations: new Map() });
    await rt!.runtime.objects.put(keys.manifest(id), body);
    await rt!.runtime.store.createCheckpoint({ id, sessionId, parentId: null, kind: "manual", label: "hostile", now: createdAt });
    await rt!.runtime.store.commitCheckpoint(id, { files: header.files, bytes: 0, uploadedBytes: 0 }, createdAt);
    return id;
  }

  /** Everything under the data dir except the S3 data and the SQLite files: where an escape would land. */
  async function hostSnapshot(): Promise<string[]> {
    const root = rt!.dir;
    const out: string[] = [];
    const walk = async (rel: string) => {
      for (const name of await fs.readdir(path.join(root, rel))) {
        const p = rel ? `${rel}/${name}` : name;
        if (p === "s3" || p.startsWith("torpor.") || p.endsWith(".sqlite") || p.includes(".sqlite-") || p.endsWith(".db") || p.includes(".db-")) continue;
        const st = await fs.lstat(path.join(root, p));
        // A killed sandbox keeps only a tombstone state file: its content changes, not the tree.
        out.push(st.isDirectory() ? `${p}/` : p);
        if (st.isDirectory()) await walk(p);
      }
    };
    await walk("");
    return out.sort();
  }

  for (const v of variants) {
    it(`${v.what}: resume and restore refuse it and nothing lands outside the workspace`, async () => {
      const { runtime, dir: dataDir } = await start();
      const outside = path.join(dataDir, "outside");
      await fs.mkdir(outside);
      const { session } = await createRichSession("hostile");
      const archived = await archive(session);
      const good = archived.latestCheckpointId!;
      const hostile = await plant(session.id, v.entries(outside), Date.now() + 1000);
      expect((await runtime.store.getSession(session.id)).latestCheckpointId).toBe(hostile);
      const hostBefore = await hostSnapshot();
      const objectsBefore = await allObjects();

      const failed = await resume(session.id);
      await expectRefusedResume(failed, session.id, v.reason, objectsBefore);
      expect(await fs.readdir(outside)).toEqual([]);
      expect(existsSync(path.join(sandboxRoot(), "escape"))).toBe(false);
      // Only the tombstone of the removed sandbox is new on the host, and its folders in the
      // trash (kill moves them there for the reaper): all four empty, nothing was written.
      const created = createdSandbox(failed)!;
      const hostAfter = await hostSnapshot();
      const trashed = hostAfter.filter((p) => p.startsWith("sandboxes/.trash/") && p.includes(`-${created}-`));
      expect(trashed.map((p) => p.replace(/^sandboxes\/\.trash\/\d+-/, "")).sort()).toEqual(
        ["home/", "logs/", "tmp/", "workspace/"].map((f) => `${created}-${f}`),
      );
      expect(hostAfter.filter((p) => !trashed.includes(p))).toEqual([...hostBefore, `sandboxes/${created}/`, `sandboxes/${created}/state.json`].sort());
      expect(await fs.readdir(path.join(sandboxRoot(), created))).toEqual(["state.json"]);

      // The good checkpoint still restores: back to running on it, then a restore to the hostile one is refused too.
      const back = await restoreTo(session.id, good);
      expect(back.status).toBe("completed");
      const running = await runtime.store.getSession(session.id);
      expect(running).toMatchObject({ state: "running", lease: null });
      const treeBefore = await hostTree(workspaceOf(running.sandboxId!));

      const refused = await restoreTo(session.id, hostile);
      expect(refused.status).toBe("failed");
      expect(refused.error).toMatch(v.reason);
      expectFailedWithoutRetry(refused, "Restore the checkpoint into the new sandbox", v.reason);
      const after = await runtime.store.getSession(session.id);
      expect(after).toMatchObject({ state: "running", sandboxId: running.sandboxId, lease: null });
      expect(after.lastError).toMatch(/^restore failed: /);
      expect(after.lastError).toMatch(v.reason);
      expect(await hostTree(workspaceOf(running.sandboxId!))).toEqual(treeBefore);
      expect(await runtime.sandboxes.status(createdSandbox(refused)!)).toBe("gone");
      expect(await liveSandboxFolders()).toEqual([running.sandboxId]);
      expect(await fs.readdir(outside)).toEqual([]);
      expect(existsSync(path.join(sandboxRoot(), "escape"))).toBe(false);
    });
  }
});

describe("a restore whose files differ from the checkpoint afterwards", () => {
  it("is refused by the verification at once (no retry can change the files), and the session is archived again", async () => {
    // A sandbox that clobbers a file right after the import (a start script, a faulty disk): the
    // restore itself reports success, only the verification can see it.
    let clobber = true;
    rt = await startWorkflowRuntime({
      env: { TORPOR_SMALL_FILE_BYTES: String(SMALL_FILE_BYTES) },
      wrapSandboxes: (inner) => ({
        ...inner,
        kind: inner.kind,
        async importTar(id, tar) {
          await inner.importTar(id, tar);
          if (clobber) await inner.writeFile(id, "README.md", "clobbered\n");
        },
        // The local provider's direct writes (no tar stream): the same clobbering after them.
        async writeEntries(id, entries) {
          await inner.writeEntries!(id, entries);
          if (clobber) await inner.writeFile(id, "README.md", "clobbered\n");
        },
        // A new local sandbox's lent folder (the engine writes it directly): clobbered at the release.
        async lendQuietWorkspace(id) {
          const loan = await inner.lendQuietWorkspace!(id);
          if (loan === null) return null;
          return {
            folder: loan.folder,
            async release(restored) {
              await loan.release(restored);
              if (clobber && restored) await inner.writeFile(id, "README.md", "clobbered\n");
            },
          };
        },
      }),
    });
    const { runtime } = rt;
    const { session } = await createRichSession("clobbered");
    const expected = await hostTree(workspaceOf(session.sandboxId!));
    await archive(session);
    const objectsBefore = await allObjects();

    const failed = await resume(session.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/1 restored file\(s\) differ from checkpoint 'cp_[0-9a-z]+', first 'README.md'/);
    expect(stepOf(failed, "Restore the checkpoint into the new sandbox")).toMatchObject({ status: "completed", attempts: 1 });
    expectFailedWithoutRetry(failed, "Verify every restored file", /differ from checkpoint/);
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "archived", sandboxId: null, lease: null });
    expect(s.lastError).toMatch(/^resume failed: 1 restored file\(s\) differ from checkpoint/);
    expect(await runtime.sandboxes.status(createdSandbox(failed)!)).toBe("gone");
    expect(await liveSandboxFolders()).toEqual([]);
    expect(await allObjects()).toEqual(objectsBefore);

    clobber = false;
    const resumed = await resume(session.id);
    expect(resumed.status).toBe("completed");
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(await hostTree(workspaceOf(result.sandboxId!))).toEqual(expected);
  });
});

describe("archiving onto a damaged checkpoint", () => {
  // Refusing for good is not needed while the sandbox holds the files: the archive heals the
  // checkpoint first (cases where it cannot: tests/workflows/archive-healing.test.ts).
  it("is healed from the paused sandbox before the kill: archived on a checkpoint that verifies, resume restores every file", async () => {
    const { runtime } = await start();
    const { session, files } = await createRichSession("archive-damaged");
    const expected = await hostTree(workspaceOf(session.sandboxId!));
    expect((await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } })).status).toBe("completed");
    const paused = await runtime.store.getSession(session.id);
    await damage(keys.blob(sha256(files["big/large.bin"]!)));

    const archived = await run({ name: "torpor/session.archive.requested", data: { sessionId: session.id, reason: "old", requestId: requestId() } });
    expect(archived.status).toBe("completed");
    expect(stepOf(archived, "Verify the latest checkpoint")).toMatchObject({ status: "completed", attempts: 1 });
    expect(stepOf(archived, "Take a healing checkpoint after a failed verify").status).toBe("completed");
    expect(stepOf(archived, "Verify the healing checkpoint").status).toBe("completed");
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "archived", sandboxId: null, lease: null });
    expect(s.latestCheckpointId).not.toBe(paused.latestCheckpointId);
    expect(s.lastError).toMatch(/^verify of cp_[0-9a-z]+ failed: big\/large\.bin: .*; healed with cp_[0-9a-z]+$/);
    expect((await runtime.checkpoints.verify(s.latestCheckpointId!)).ok).toBe(true);
    expect(await liveSandboxFolders()).toEqual([]);

    const resumed = await resume(session.id);
    expect(resumed.status).toBe("completed");
    const result = JSON.parse(resumed.result!) as ResumeResult;
    expect(await hostTree(workspaceOf(result.sandboxId!))).toEqual(expected);
  });
});

describe("on Inngest", () => {
  it("a damaged large blob ends the resume with NonRetriableError, the session archived and no sandbox left", async () => {
    const { runtime } = await start();
    setWorkflowDeps(runtime.deps);
    const { session, files } = await createRichSession("inngest-damaged");
    await archive(session);
    await damage(keys.blob(sha256(files["big/large.bin"]!)));

    // Run as Inngest does, one request per step with failed steps memoized, so the catch's
    // clean-up steps run after the failed one (@inngest/test stops at the first failed step).
    const out = await runModelled(resumeFunction, { name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "open", requestId: requestId() } }, { retries: 2 });
    const failedStep = out.steps.find((step) => step.failed);
    expect(failedStep?.error?.name).toBe("NonRetriableError");
    expect(failedStep?.error?.message).toMatch(/Blob [0-9a-f]{64}.*corrupt, truncated or tampered/);
    const error = out.error;
    expect(error?.name).toBe("NonRetriableError");
    expect(error?.message).toMatch(/Blob [0-9a-f]{64}.*corrupt, truncated or tampered/);
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "archived", sandboxId: null, lease: null });
    expect(s.lastError).toMatch(/^resume failed: Blob [0-9a-f]{64}/);
    expect(await liveSandboxFolders()).toEqual([]);
    expect(await runtime.store.listRuns({ sessionId: session.id, workflow: "resume-session" })).toMatchObject([
      { status: "failed", error: expect.stringMatching(/corrupt, truncated or tampered/) },
    ]);
  });
});

describe("a damaged pack index", () => {
  // Indexes only serve dedup: restores never read them, and a snapshot skips an unreadable one.
  it("another session still hibernates, its checkpoint restores, and older checkpoints still restore", async () => {
    const { runtime } = await start();
    const first = await createRichSession("index-a");
    const firstTree = await hostTree(workspaceOf(first.session.sandboxId!));
    expect((await run({ name: "torpor/session.snapshot.requested", data: { sessionId: first.session.id, label: null, requestId: requestId() } })).status).toBe("completed");
    const firstCheckpoint = (await runtime.store.getSession(first.session.id)).latestCheckpointId!;
    const indexes = Object.keys(await allObjects()).filter((k) => k.startsWith("index/"));
    expect(indexes).toHaveLength(1);
    await damage(indexes[0]!);

    const { session } = await createRichSession("index-b");
    const expected = await hostTree(workspaceOf(session.sandboxId!));
    const hibernated = await run({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId() } });
    expect(hibernated.status).toBe("completed");
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "paused", lease: null });
    const out = await mkdtemp(path.join(os.tmpdir(), "torpor-index-"));
    cleanup.push(out);
    await runtime.checkpoints.restore(s.latestCheckpointId!, localDirTarget(out), { allowNonEmpty: true });
    expect(await hostTree(out)).toEqual(expected);

    const older = await mkdtemp(path.join(os.tmpdir(), "torpor-index-"));
    cleanup.push(older);
    await runtime.checkpoints.restore(firstCheckpoint, localDirTarget(older), { allowNonEmpty: true });
    expect(await hostTree(older)).toEqual(firstTree);
  });
});

describe("a blob refused before the sandbox target reads it", () => {
  // The race behind an intermittent hang of "a truncated large blob" under load: the blob's stream
  // failed while it waited in the restore's queue, so piping it emitted nothing more, and the tar
  // import was handed an archive already being destroyed. Both waited forever; the run (and its
  // lease, renewed while the step runs) stayed stuck. Now the write fails with the blob's error.
  it("fails the write with the blob's error instead of waiting forever", async () => {
    const { runtime } = await start();
    const info = await runtime.sandboxes.create({ template: "base" });
    const content = new PassThrough();
    content.on("error", () => undefined);
    content.destroy(new Error("Blob 00: cannot decompress: unexpected end of file (corrupt, truncated or tampered)"));
    await new Promise((resolve) => setImmediate(resolve));
    async function* items() {
      yield { entry: { path: "big.bin", type: "file" as const, mode: 0o644, size: 100, mtimeMs: 0, hash: EMPTY_HASH }, content };
    }
    await expect(sandboxWorkspace(runtime.sandboxes, info.id).write(items())).rejects.toThrow(/corrupt, truncated or tampered/);
    expect(await fs.readdir(workspaceOf(info.id))).toEqual([]);
    await runtime.sandboxes.kill(info.id);
  }, 20_000);
});
