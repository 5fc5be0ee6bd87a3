/**
 * sandboxWorkspace: a sandbox as the checkpoint engine's source and target, with one tar stream
 * per direction. Checkpoints are provider-neutral: one taken out of a local sandbox restores into
 * a second local sandbox, and into an E2B sandbox (mocked SDK, ./fake-e2b) and back, through the
 * real engine on a real S3 server (s3rver).
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget, type CheckpointEngine, type ManifestEntry, type ScanEntry } from "../../src/checkpoint/index";
import { createE2BProvider, createLocalProvider, sandboxWorkspace, type SandboxProvider } from "../../src/sandbox";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { cleanUpFakes } from "./fake-e2b";
import { expectCode } from "./helpers";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("./fake-e2b")).FakeSandbox,
}));

const root = mkdtempSync(path.join(tmpdir(), "torpor-workspace-"));
const big = randomBytes(300 * 1024).toString("base64"); // above smallFileBytes: a standalone blob
let s3: TestS3;
let engine: CheckpointEngine;
let local: SandboxProvider;
let e2b: SandboxProvider;
const created: [SandboxProvider, string][] = [];

async function sandbox(provider: SandboxProvider): Promise<string> {
  const { id } = await provider.create({ template: "base" });
  created.push([provider, id]);
  return id;
}

async function fillWorkspace(provider: SandboxProvider, id: string): Promise<void> {
  await provider.writeFile(id, "README.md", "# project\n");
  await provider.writeFile(id, "src/index.ts", "export const x = 1;\n");
  await provider.writeFile(id, "src/deep/er/file.txt", "deep");
  await provider.writeFile(id, "bin/run", "#!/bin/sh\necho run\n", 0o755);
  await provider.writeFile(id, "assets/big.bin", big);
  await provider.writeFile(id, "private.key", "secret", 0o600);
  const made = await provider.exec(id, "ln -s src/index.ts entry && ln -s /nowhere dangling && mkdir -p empty/dir && : > empty.txt");
  expect(made.exitCode).toBe(0);
}

/** Everything a restore must reproduce: type, mode, size, target, content hash (and mtime to the second). */
async function fingerprint(provider: SandboxProvider, id: string): Promise<Record<string, unknown>> {
  const entries = await provider.scan(id);
  const files = entries.filter((e) => e.type === "file").map((e) => e.path);
  const hashes = await provider.hashFiles(id, files);
  return Object.fromEntries(
    entries.map((e: ScanEntry) => [
      e.path,
      { type: e.type, mode: e.mode, size: e.size, target: e.target, hash: hashes[e.path], mtime: e.type === "dir" ? undefined : Math.floor(e.mtimeMs / 1000) },
    ]),
  );
}

beforeAll(async () => {
  s3 = await startTestS3();
  engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 64 * 1024 });
  local = createLocalProvider({ root, bubblewrap: "required" });
  e2b = createE2BProvider({ apiKey: "e2b_test", template: "base" });
});
afterAll(async () => {
  for (const [provider, id] of created) await provider.kill(id).catch(() => undefined);
  await cleanUpFakes();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("sandboxWorkspace", () => {
  it("reads many files through ONE exportTar and writes them through ONE importTar (a provider without host folders)", async () => {
    const a = await sandbox(local);
    await fillWorkspace(local, a);
    const exportTar = vi.spyOn(local, "exportTar");
    const importTar = vi.spyOn(local, "importTar");
    // What E2B offers: no in-place reads and no direct writes, only the tar streams.
    const viaTar: SandboxProvider = { ...local, inPlaceReads: undefined, writeEntries: undefined };
    const source = sandboxWorkspace(viaTar, a);
    expect("readInto" in source).toBe(false);
    const got = new Map<string, string>();
    const streams: { path: string; stream: Readable }[] = [];
    // Ask for every file before reading any: the rest of each is buffered, nothing is lost.
    for await (const item of source.readFiles(["README.md", "src/index.ts", "assets/big.bin", "missing.txt"])) streams.push(item);
    for (const { path: p, stream } of streams) {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      got.set(p, Buffer.concat(chunks).toString());
    }
    expect(exportTar).toHaveBeenCalledTimes(1);
    expect([...got.keys()].sort()).toEqual(["README.md", "assets/big.bin", "src/index.ts"]);
    expect(got.get("assets/big.bin")).toBe(big);

    const b = await sandbox(local);
    const target = sandboxWorkspace(viaTar, b);
    await target.prepare({ allowNonEmpty: false });
    const entries: { entry: ManifestEntry; content?: Readable }[] = [];
    const now = Date.now();
    for (let i = 0; i < 30; i++) entries.push({ entry: { path: `many/f${i}.txt`, type: "file", mode: 0o640, size: 2, mtimeMs: now }, content: Readable.from([Buffer.from(`${i % 10}\n`)]) });
    await target.write((async function* () { yield* entries; })());
    expect(importTar).toHaveBeenCalledTimes(1);
    expect((await local.scan(b, "many")).length).toBe(30);
    await expectCode(target.prepare({ allowNonEmpty: false }), "CONFLICT");
    await target.prepare({ allowNonEmpty: true });
    const hashed = await target.hashFiles(["many/f3.txt"]);
    expect(hashed["many/f3.txt"]).toBe(createHash("sha256").update("3\n").digest("hex"));
    exportTar.mockRestore();
    importTar.mockRestore();
  });
});

describe("a provider with host folders (local)", () => {
  it("is read in place by a snapshot and written directly by a restore: no tar stream either way", async () => {
    const a = await sandbox(local);
    await fillWorkspace(local, a);
    const exportTar = vi.spyOn(local, "exportTar");
    const importTar = vi.spyOn(local, "importTar");
    try {
      const snap = await engine.snapshot(sandboxWorkspace(local, a));
      const b = await sandbox(local);
      await engine.restore(snap.checkpoint, sandboxWorkspace(local, b));
      expect(await fingerprint(local, b)).toEqual(await fingerprint(local, a));
      expect(exportTar).not.toHaveBeenCalled();
      expect(importTar).not.toHaveBeenCalled();
    } finally {
      exportTar.mockRestore();
      importTar.mockRestore();
    }
  });

  it("keeps the host-side checks: no read or write through a symlink the sandbox made", async () => {
    const a = await sandbox(local);
    await fillWorkspace(local, a);
    expect((await local.exec(a, "ln -s /etc hostetc")).exitCode).toBe(0);
    const ws = sandboxWorkspace(local, a);
    // A symlinked parent folder is refused; a symlink as the file itself is not followed.
    expect(() => ws.readInto!("hostetc/hostname", Buffer.alloc(4096), 0, 4096)).toThrow(/symlink/);
    expect(() => ws.readInto!("entry", Buffer.alloc(4096), 0, 4096)).toThrow(/symlink/);
    await expectCode(ws.openFile!("hostetc/hostname"), "UNSAFE_PATH");
    await expectCode(
      ws.write(
        (async function* () {
          yield { entry: { path: "hostetc/written-by-torpor", type: "file" as const, mode: 0o644, size: 2, mtimeMs: Date.now() }, data: Buffer.from("x\n") };
        })(),
      ),
      "UNSAFE_PATH",
    );
  });
});

describe("checkpoints move between sandboxes and providers", () => {
  it("local sandbox → checkpoint → a second local sandbox: every file, mode and symlink", async () => {
    const a = await sandbox(local);
    await fillWorkspace(local, a);
    const snap = await engine.snapshot(sandboxWorkspace(local, a));
    expect(snap.files).toBeGreaterThanOrEqual(7);
    const b = await sandbox(local);
    const restored = await engine.restore(snap.checkpoint, sandboxWorkspace(local, b));
    expect(restored.verifiedFiles).toBe(restored.files);
    expect(await fingerprint(local, b)).toEqual(await fingerprint(local, a));
    expect((await local.exec(b, "./bin/run")).stdout).toBe("run\n");
  });

  it("local → E2B (mocked SDK) → local: the same workspace each time", async () => {
    const a = await sandbox(local);
    await fillWorkspace(local, a);
    const expected = await fingerprint(local, a);
    const first = await engine.snapshot(sandboxWorkspace(local, a));
    const remote = await sandbox(e2b);
    await engine.restore(first.checkpoint, sandboxWorkspace(e2b, remote));
    expect(await fingerprint(e2b, remote)).toEqual(expected);
    const second = await engine.snapshot(sandboxWorkspace(e2b, remote));
    const back = await sandbox(local);
    await engine.restore(second.checkpoint, sandboxWorkspace(local, back));
    expect(await fingerprint(local, back)).toEqual(expected);
  });
});

describe("setuid, setgid and sticky bits in a checkpoint", () => {
  it("are never restored: not into a local sandbox, not into a folder", async () => {
    // A host folder keeps its bits in the manifest (the CLI's source); a restore strips them.
    const dir = mkdtempSync(path.join(root, "suid-src-"));
    mkdirSync(path.join(dir, "sticky"));
    writeFileSync(path.join(dir, "suid-sh"), "#!/bin/sh\n");
    writeFileSync(path.join(dir, "big-sgid"), big);
    chmodSync(path.join(dir, "sticky"), 0o1777);
    chmodSync(path.join(dir, "suid-sh"), 0o4755);
    chmodSync(path.join(dir, "big-sgid"), 0o2755);
    const snap = await engine.snapshot(localDirSource(dir));
    const id = await sandbox(local);
    await engine.restore(snap.checkpoint, sandboxWorkspace(local, id));
    const scanned = Object.fromEntries((await local.scan(id)).map((e) => [e.path, e.mode]));
    expect(scanned).toEqual({ "big-sgid": 0o755, sticky: 0o777, "suid-sh": 0o755 });
    const out = path.join(mkdtempSync(path.join(root, "suid-out-")), "restored");
    await engine.restore(snap.checkpoint, localDirTarget(out));
    const mode = (p: string): number => statSync(path.join(out, p)).mode & 0o7777;
    expect([mode("sticky"), mode("suid-sh"), mode("big-sgid")]).toEqual([0o777, 0o755, 0o755]);
  });
});
