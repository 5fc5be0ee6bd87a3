/**
 * Snapshot and restore of real folders through s3rver: every kind of entry survives byte for byte,
 * incremental snapshots reuse the parent, and identical content is stored once across workspaces.
 */
import { execFileSync } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget, type WorkspaceSource, type WorkspaceTarget } from "../../src/checkpoint/index";
import { noise, readTree, setMtime, writeTree } from "./tree";
import { checkpointFixture } from "./fixture";

const fx = checkpointFixture();
const dir = fx.dir;


const workspace = {
  "README.md": "# hello\n",
  "empty.txt": "",
  "bin/run.sh": { content: "#!/bin/sh\necho hi\n", mode: 0o755 },
  "src/ünïcödé/日本語.ts": "export const x = 1;\n",
  "src/a/b/c/deep.txt": "deep",
  "src/dup1.txt": "same content",
  "src/dup2.txt": "same content",
  "empty-dir": { dir: true as const },
  "private": { dir: true as const, mode: 0o700 },
  "private/secret": { content: "s", mode: 0o600 },
  "big/large.bin": noise(300_000, 7),
  "big/large-copy.bin": noise(300_000, 7),
  "links/to-readme": { link: "../README.md" },
  "links/dangling": { link: "does/not/exist" },
  "links/absolute": { link: "/usr/bin/env" },
  "links/to-dir": { link: "../src" },
};

describe("snapshot and restore", () => {
  it("restores every entry: bytes, modes, symlinks, empty files and dirs, non-ASCII names, mtimes", async () => {
    const src = await dir("src");
    await writeTree(src, { ...workspace, ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`many/f${i}.txt`, `file ${i}\n`.repeat(i % 50)])) });
    const snap = await fx.engine.snapshot(localDirSource(src));
    expect(snap.files).toBe(310);
    expect(snap.symlinks).toBe(4);
    expect(snap.skipped).toEqual([]);
    expect(snap.uploadedBytes).toBeGreaterThan(0);
    // 300 small files but only a few packs: one PUT per pack, not per file.
    expect(snap.uploadedObjects).toBeLessThan(40);

    const out = await dir("out");
    const restored = await fx.engine.restore(snap.checkpoint, localDirTarget(out));
    expect(restored.files).toBe(310);
    expect(restored.verifiedFiles).toBe(310);
    expect(await readTree(out)).toEqual(await readTree(src));
  });

  it("an incremental snapshot re-reads only changed files and uploads little", async () => {
    const src = await dir("inc");
    await writeTree(src, { ...workspace, ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`m/${i}.txt`, `v1 ${i}\n`.repeat(100)])) });
    const full = await fx.engine.snapshot(localDirSource(src));
    await writeFile(path.join(src, "m/7.txt"), "changed!\n");
    await rm(path.join(src, "m/8.txt"));
    await writeFile(path.join(src, "new.txt"), "new file\n");
    const inc = await fx.engine.snapshot(localDirSource(src), { parent: full.checkpoint });
    expect(inc.parent).toBe(full.checkpoint);
    expect(inc.reusedFiles).toBe(full.files - 2);
    expect(inc.files).toBe(full.files);
    // Two tiny new blobs in one pack + index, the (delta) manifest and its empty marker under the parent.
    expect(inc.uploadedObjects).toBe(4);
    expect(inc.uploadedBytes).toBeLessThan(full.uploadedBytes);

    const out = await dir("inc-out");
    await fx.engine.restore(inc.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(src));
  });

  it("a snapshot of a restored folder, with the original as parent, reuses every file (mtimes survive)", async () => {
    const src = await dir("re");
    await writeTree(src, workspace);
    const first = await fx.engine.snapshot(localDirSource(src));
    const out = await dir("re-out");
    await fx.engine.restore(first.checkpoint, localDirTarget(out));
    const again = await fx.engine.snapshot(localDirSource(out), { parent: first.checkpoint });
    expect(again.reusedFiles).toBe(first.files);
    expect(again.uploadedObjects).toBe(2); // the (empty) delta manifest and its marker
  });

  it("with changedPaths and no fullScan, only the listed paths are re-read", async () => {
    const src = await dir("chg");
    await writeTree(src, { "a.txt": "a1", "b.txt": "b1" });
    const first = await fx.engine.snapshot(localDirSource(src));
    await writeFile(path.join(src, "a.txt"), "a2");
    await writeFile(path.join(src, "b.txt"), "b2");
    // Same size: only the mtime tells the change (set apart explicitly, clocks can be coarse).
    await setMtime(path.join(src, "b.txt"), Date.now() + 60_000);
    const trusted = await fx.engine.snapshot(localDirSource(src), { parent: first.checkpoint, changedPaths: ["a.txt"] });
    const { entries } = await fx.engine.readManifest(trusted.checkpoint);
    const firstEntries = (await fx.engine.readManifest(first.checkpoint)).entries;
    expect(entries.find((e) => e.path === "b.txt")?.hash).toBe(firstEntries.find((e) => e.path === "b.txt")?.hash);
    expect(entries.find((e) => e.path === "a.txt")?.hash).not.toBe(firstEntries.find((e) => e.path === "a.txt")?.hash);
    // fullScan: the stat comparison catches b.txt too.
    const scanned = await fx.engine.snapshot(localDirSource(src), { parent: first.checkpoint, changedPaths: ["a.txt"], fullScan: true });
    const scannedEntries = (await fx.engine.readManifest(scanned.checkpoint)).entries;
    expect(scannedEntries.find((e) => e.path === "b.txt")?.hash).not.toBe(firstEntries.find((e) => e.path === "b.txt")?.hash);
  });

  it("a second workspace with the same content uploads almost nothing", async () => {
    const shared = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`node_modules/p${i}/index.js`, `module.exports = ${i};\n`.repeat(40)]));
    const one = await dir("ws1");
    const two = await dir("ws2");
    await writeTree(one, { ...shared, "big.bin": noise(200_000, 3), "app.ts": "one" });
    await writeTree(two, { ...shared, "big.bin": noise(200_000, 3), "app.ts": "two" });
    const a = await fx.engine.snapshot(localDirSource(one));
    const b = await fx.engine.snapshot(localDirSource(two));
    expect(b.bytes).toBe(a.bytes);
    expect(b.uploadedBytes).toBeLessThan(a.uploadedBytes * 0.2);
    const out = await dir("ws2-out");
    await fx.engine.restore(b.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(two));
  });

  it("applies gitignore-style rules and skips special files with a warning", async () => {
    const src = await dir("ign");
    await writeTree(src, { "keep.txt": "k", "build/out.js": "x", "logs/a.log": "l", "src/b.log": "l", "src/c.ts": "c" });
    execFileSync("mkfifo", [path.join(src, "pipe")]);
    const ignoring = createCheckpointEngine({ objects: fx.s3.objects, ignore: ["*.log"] });
    const snap = await ignoring.snapshot(localDirSource(src, { ignore: ["build/"] }));
    expect(snap.skipped).toEqual([{ path: "pipe", reason: "fifo skipped" }]);
    const paths = (await ignoring.readManifest(snap.checkpoint)).entries.map((e) => e.path).sort();
    expect(paths).toEqual(["keep.txt", "logs", "src", "src/c.ts"]);
  });

  it("lists committed checkpoints newest first, with their summary and meta", async () => {
    const src = await dir("ls");
    await writeTree(src, { "x.txt": "x" });
    const snap = await fx.engine.snapshot(localDirSource(src), { meta: { workspace: "ls-test" } });
    const list = await fx.engine.list();
    expect(list[0]?.id).toBe(snap.checkpoint);
    expect(list[0]?.meta).toEqual({ workspace: "ls-test" });
    expect(list[0]?.files).toBe(1);
    for (let i = 1; i < list.length; i++) expect(list[i - 1]!.createdAt).toBeGreaterThanOrEqual(list[i]!.createdAt);
  });

  it("works through plain stream-only sources and targets (as a sandbox's tar streams would be)", async () => {
    const src = await dir("generic");
    await writeTree(src, { ...workspace, "big/third.bin": noise(100_000, 11) });
    const local = localDirSource(src);
    // Only the interface: every file as a stream, one at a time, no in-memory fast path.
    const source: WorkspaceSource = {
      scan: () => local.scan(),
      async *readFiles(paths) {
        for await (const f of local.readFiles(paths)) yield { path: f.path, size: f.size, stream: f.stream };
      },
    };
    const snap = await fx.engine.snapshot(source);
    const out = await dir("generic-out");
    const inner = localDirTarget(out);
    const seen: string[] = [];
    const target: WorkspaceTarget = {
      prepare: (o) => inner.prepare(o),
      hashFiles: (p) => inner.hashFiles(p),
      finish: () => inner.finish!(),
      write: (entries) =>
        inner.write(
          (async function* () {
            for await (const { entry, content } of entries) {
              seen.push(entry.type);
              yield { entry, content };
            }
          })(),
        ),
    };
    await fx.engine.restore(snap.checkpoint, target);
    expect(await readTree(out)).toEqual(await readTree(src));
    // Dirs first, symlinks last: the order the WorkspaceTarget contract promises.
    expect(seen.indexOf("file")).toBeGreaterThan(seen.lastIndexOf("dir"));
    expect(seen.indexOf("symlink")).toBeGreaterThan(seen.lastIndexOf("file"));
  });
});
