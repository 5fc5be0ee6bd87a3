/**
 * The snapshot's in-place reads (small files read straight into the packer's frames while large
 * files stream): files whose size crossed the small-file limit since the scan, duplicates, a file
 * that vanished, and the packer's one-slot rule.
 */
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { localDirSource, localDirTarget, type WorkspaceSource } from "../../src/checkpoint/index";
import { Gate } from "../../src/checkpoint/channel";
import { KnownBlobs } from "../../src/checkpoint/repo/known-blobs";
import { Packer } from "../../src/checkpoint/repo/packer";
import { isTorporError } from "../../src/core/errors";
import { noise, readTree, writeTree } from "./tree";
import { checkpointFixture } from "./fixture";

const fx = checkpointFixture();
const dir = fx.dir;

const many = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}/f${i}.txt`, `${prefix} ${i}\n`.repeat(1 + (i % 300))]));

describe("in-place reads of a local source", () => {
  it("stores small and large files read at the same time; duplicates once", async () => {
    const src = await dir("src");
    await writeTree(src, {
      ...many(600, "small"),
      ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`large/l${i}.bin`, noise(50_000 + i * 9_000, i)])),
      "dup/a.txt": "the same bytes\n".repeat(100),
      "dup/b.txt": "the same bytes\n".repeat(100),
      "dup/c.txt": "the same bytes\n".repeat(100),
    });
    const snap = await fx.engine.snapshot(localDirSource(src));
    expect(snap.files).toBe(608);
    const manifest = await fx.engine.readManifest(snap.checkpoint);
    const hashes = manifest.entries.filter((e) => e.path.startsWith("dup/")).map((e) => e.hash);
    expect(new Set(hashes).size).toBe(1);

    const out = await dir("out");
    await fx.engine.restore(snap.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(src));
  });

  it("stores files whose size crossed the small-file limit since the scan", async () => {
    const src = await dir("src");
    await writeTree(src, { "grew.bin": noise(20_000, 1), "shrank.txt": "now small\n", "same.txt": "unchanged\n" });
    const local = localDirSource(src);
    // The scan saw the old sizes: grew.bin was small (in-place pass), shrank.txt large (stream pass).
    const stale: WorkspaceSource = {
      ...local,
      async scan() {
        return (await local.scan()).map((e) => (e.path === "grew.bin" ? { ...e, size: 100 } : e.path === "shrank.txt" ? { ...e, size: 50_000 } : e));
      },
    };
    const snap = await fx.engine.snapshot(stale);
    const manifest = await fx.engine.readManifest(snap.checkpoint);
    expect(Object.fromEntries(manifest.entries.map((e) => [e.path, e.size]))).toMatchObject({ "grew.bin": 20_000, "shrank.txt": 10 });

    const out = await dir("out");
    await fx.engine.restore(snap.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(src));
    // grew.bin is over the limit now: a standalone blob, not packed.
    const grew = manifest.entries.find((e) => e.path === "grew.bin")!;
    expect(await fx.s3.objects.head(`blobs/${grew.hash}`)).not.toBeNull();
  });

  it("fails with a typed error, and commits nothing, when a file vanished since the scan", async () => {
    const src = await dir("src");
    await writeTree(src, { ...many(200, "small"), "large.bin": noise(100_000, 3) });
    const local = localDirSource(src);
    const vanishing: WorkspaceSource = {
      ...local,
      async scan() {
        const entries = await local.scan();
        await rm(path.join(src, "small/f150.txt"));
        return entries;
      },
    };
    const before = (await fx.engine.list()).length;
    const error = await fx.engine.snapshot(vanishing).catch((e: unknown) => e);
    expect(isTorporError(error)).toBe(true);
    expect(String((error as Error).message)).toContain("f150.txt");
    expect((await fx.engine.list()).length).toBe(before);
    await writeFile(path.join(src, "small/f150.txt"), "back\n");
  });

  it("fails the same way when a large file vanished since the scan", async () => {
    const src = await dir("src");
    await writeTree(src, { ...many(300, "small"), "a.bin": noise(60_000, 4), "b.bin": noise(50_000, 5) });
    const local = localDirSource(src);
    const vanishing: WorkspaceSource = {
      ...local,
      async scan() {
        const entries = await local.scan();
        await rm(path.join(src, "b.bin"));
        return entries;
      },
    };
    const before = (await fx.engine.list()).length;
    const error = await fx.engine.snapshot(vanishing).catch((e: unknown) => e);
    expect(isTorporError(error)).toBe(true);
    expect(String((error as Error).message)).toContain("b.bin");
    expect((await fx.engine.list()).length).toBe(before);
  });
});

describe("aborting", () => {
  it("stops both passes at the next file and commits nothing", async () => {
    const src = await dir("src");
    await writeTree(src, { ...many(600, "small"), ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`large/l${i}.bin`, noise(80_000, 20 + i)])) });
    const controller = new AbortController();
    const before = (await fx.engine.list()).length;
    const error = await fx.engine
      .snapshot(localDirSource(src), {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === "upload" && p.filesDone > 100) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(isTorporError(error)).toBe(true);
    expect(String((error as Error).message)).toContain("aborted");
    expect((await fx.engine.list()).length).toBe(before);
  });
});

describe("Packer slots", () => {
  it("allows one reserved slot at a time, and add() copies into the frame", async () => {
    const packer = new Packer(fx.s3.objects, new KnownBlobs(fx.s3.objects, 4), new Gate(2), { uploadedBytes: 0, uploadedObjects: 0 }, 64 * 1024, 2);
    const slot = await packer.reserve(10);
    expect(slot.room).toBeGreaterThanOrEqual(10);
    await expect(packer.reserve(10)).rejects.toThrow(/already reserved/);
    await expect(packer.add("a".repeat(64), Buffer.from("x"))).rejects.toThrow(/already reserved/);
    await expect(packer.flush()).rejects.toThrow(/reserved/);
    packer.cancel();
    await expect(packer.commit("b".repeat(64), 1)).rejects.toThrow(/without a reserved slot/);
    await packer.add("c".repeat(64), Buffer.from("hello"));
    expect(packer.has("c".repeat(64))).toBe(true);
    await packer.flush();
  });

  it("sealNow() closes the open pack below its target size", async () => {
    const stats = { uploadedBytes: 0, uploadedObjects: 0 };
    const known = new KnownBlobs(fx.s3.objects, 4);
    const packer = new Packer(fx.s3.objects, known, new Gate(2), stats, 64 * 1024 * 1024, 2);
    // A frame is closed once it holds 1 MB: this one goes into the first pack.
    await packer.add("d".repeat(64), noise(1024 * 1024, 8));
    await packer.sealNow();
    await packer.add("e".repeat(64), Buffer.from("after the seal"));
    await packer.flush();
    // Two packs, each with its index.
    expect(stats.uploadedObjects).toBe(4);
    expect(known.get("d".repeat(64))![0]).not.toBe(known.get("e".repeat(64))![0]);
  });
});
