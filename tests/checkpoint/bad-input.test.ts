/**
 * Bad input is refused: corrupt, truncated or tampered manifests, packs and blobs (hash mismatch);
 * manifests whose entries would write outside the target (nothing is written anywhere); a
 * non-empty target unless asked; a missing checkpoint id.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget, type CheckpointEngine, type ManifestEntry } from "../../src/checkpoint/index";
import { compressChunk } from "../../src/checkpoint/repo/compress-pool";
import { type BlobLocation, encodeManifest, keys } from "../../src/checkpoint/repo/format";
import { isTorporError } from "../../src/core/errors";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { noise, readTree, writeTree, tempDirs } from "./tree";

let s3: TestS3;
let engine: CheckpointEngine;
let checkpoint: string;
const temp = tempDirs();
const dir = (label: string) => temp.make(label);


async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const item of s3.objects.list(prefix)) out.push(item.key);
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeDefined();
  return isTorporError(error) ? error.code : `untyped: ${String(error)}`;
}

beforeAll(async () => {
  s3 = await startTestS3();
  engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 4096 });
  const src = await dir("bad-src");
  await writeTree(src, { "a.txt": "alpha", "b/c.txt": "gamma".repeat(100), "large.bin": noise(50_000, 5) });
  checkpoint = (await engine.snapshot(localDirSource(src))).checkpoint;
});
afterAll(async () => {
  await s3.close();
  await temp.removeAll();
});

/** Writes a manifest as an attacker could: well-formed, with a matching id. */
async function plantManifest(entries: ManifestEntry[]): Promise<string> {
  const header = { parent: null, createdAt: Date.now(), files: 0, dirs: 0, symlinks: 0, bytes: 0, meta: {} };
  const { id, body } = encodeManifest({ header, entries, locations: new Map() });
  await s3.objects.put(keys.manifest(id), body);
  return id;
}

const base = { mode: 0o644, size: 0, mtimeMs: 0 };

describe("tampered or damaged objects", () => {
  it("refuses a tampered, truncated or corrupt manifest", async () => {
    const body = await s3.objects.getBuffer(keys.manifest(checkpoint));
    const tampered = Buffer.from(body);
    tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0xff;
    await s3.objects.put(keys.manifest(checkpoint), tampered);
    expect(await codeOf(engine.restore(checkpoint, localDirTarget(await dir("t1"))))).toBe("INTEGRITY");
    await s3.objects.put(keys.manifest(checkpoint), body.subarray(0, body.length - 10));
    expect(await codeOf(engine.verify(checkpoint))).toBe("INTEGRITY");
    await s3.objects.put(keys.manifest(checkpoint), "garbage");
    expect(await codeOf(engine.readManifest(checkpoint))).toBe("INTEGRITY");
    await s3.objects.put(keys.manifest(checkpoint), body);
    expect((await engine.verify(checkpoint)).ok).toBe(true);
  });

  it("refuses a corrupt or truncated pack, and verify names the damaged files", async () => {
    const [packKey] = await keysUnder("packs/");
    const pack = await s3.objects.getBuffer(packKey!);
    const corrupt = Buffer.from(pack);
    corrupt[Math.floor(corrupt.length / 2)] = corrupt[Math.floor(corrupt.length / 2)]! ^ 0x01;
    await s3.objects.put(packKey!, corrupt);
    expect(await codeOf(engine.restore(checkpoint, localDirTarget(await dir("p1"))))).toBe("INTEGRITY");
    const report = await engine.verify(checkpoint);
    expect(report.ok).toBe(false);
    expect(report.problems.length).toBeGreaterThan(0);
    expect(report.problems.every((p) => ["a.txt", "b/c.txt"].includes(p.path))).toBe(true);

    await s3.objects.put(packKey!, pack.subarray(0, pack.length - 3));
    expect(await codeOf(engine.restore(checkpoint, localDirTarget(await dir("p2"))))).toBe("INTEGRITY");
    await s3.objects.put(packKey!, pack);
    expect((await engine.verify(checkpoint)).ok).toBe(true);
  });

  it("refuses a large blob whose content does not match its hash", async () => {
    const [blobKey] = await keysUnder("blobs/");
    const original = await s3.objects.getBuffer(blobKey!);
    const { gzipSync } = await import("node:zlib");
    await s3.objects.put(blobKey!, gzipSync(noise(50_000, 6)));
    expect(await codeOf(engine.restore(checkpoint, localDirTarget(await dir("b1"))))).toBe("INTEGRITY");
    const report = await engine.verify(checkpoint);
    expect(report.problems.map((p) => p.path)).toEqual(["large.bin"]);
    await s3.objects.put(blobKey!, original);
  });

  it("refuses a large zstd blob replaced by other content or truncated, into an empty folder and over existing content", async () => {
    const [blobKey] = await keysUnder("blobs/");
    const original = await s3.objects.getBuffer(blobKey!);
    const damaged = [await compressChunk(noise(50_000, 7)), original.subarray(0, original.length - 20)];
    for (const [i, stored] of damaged.entries()) {
      await s3.objects.put(blobKey!, stored);
      expect(await codeOf(engine.restore(checkpoint, localDirTarget(await dir(`z${i}`)))), `empty folder, case ${i}`).toBe("INTEGRITY");
      const over = await dir(`z-over${i}`);
      await writeFile(path.join(over, "a.txt"), "old");
      expect(await codeOf(engine.restore(checkpoint, localDirTarget(over), { allowNonEmpty: true })), `over content, case ${i}`).toBe("INTEGRITY");
      expect((await engine.verify(checkpoint)).problems.map((p) => p.path)).toEqual(["large.bin"]);
    }
    await s3.objects.put(blobKey!, original);
    const restored = await dir("z-ok");
    await engine.restore(checkpoint, localDirTarget(restored));
    expect((await readTree(restored))["large.bin"]?.size).toBe(50_000);
  });
});

describe("decompression bombs", () => {
  /** A checkpoint of one file whose blob sits at `location`, as a hostile writer could plant it. */
  async function plantFile(file: { path: string; size: number; hash: string }, location: BlobLocation): Promise<string> {
    const header = { parent: null, createdAt: Date.now(), files: 1, dirs: 0, symlinks: 0, bytes: file.size, meta: {} };
    const entries: ManifestEntry[] = [{ ...base, path: file.path, type: "file", size: file.size, hash: file.hash }];
    const { id, body } = encodeManifest({ header, entries, locations: new Map([[file.hash, location]]) });
    await s3.objects.put(keys.manifest(id), body);
    return id;
  }
  const zeros = Buffer.alloc(64 * 1024 * 1024);
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

  it("refuses a pack frame that would decompress to 64 MB, on every path, without decompressing it", async () => {
    const bomb = await compressChunk(zeros); // a few KB
    expect(bomb.length).toBeLessThan(64 * 1024);
    const packId = sha(bomb);
    await s3.objects.put(keys.pack(packId), bomb);
    const small = Buffer.from("small");
    const id = await plantFile({ path: "a.txt", size: small.length, hash: sha(small) }, [packId, 0, bomb.length, 0, small.length]);
    expect(await codeOf(engine.restore(id, localDirTarget(await dir("bomb-empty"))))).toBe("INTEGRITY");
    const over = await dir("bomb-over");
    await writeFile(path.join(over, "old.txt"), "old");
    const error = await engine.restore(id, localDirTarget(over), { allowNonEmpty: true }).then(() => undefined, (e: unknown) => e);
    expect(isTorporError(error) && error.code).toBe("INTEGRITY");
    expect(String((error as Error).message)).toMatch(/frame content size 67108864/);
    expect((await engine.verify(id)).problems.map((p) => p.path)).toEqual(["a.txt"]);
  });

  it("stops a large blob as soon as it outgrows its size in the manifest, on every path", async () => {
    const stored = await compressChunk(zeros.subarray(0, 8 * 1024 * 1024));
    const small = Buffer.alloc(10_000);
    const hash = sha(small);
    await s3.objects.put(keys.blob(hash), stored);
    const id = await plantFile({ path: "big.bin", size: small.length, hash }, ["", 0, stored.length, 0, small.length]);
    expect(await codeOf(engine.restore(id, localDirTarget(await dir("grow-empty"))))).toBe("INTEGRITY");
    const over = await dir("grow-over");
    await writeFile(path.join(over, "old.txt"), "old");
    const error = await engine.restore(id, localDirTarget(over), { allowNonEmpty: true }).then(() => undefined, (e: unknown) => e);
    expect(isTorporError(error) && error.code).toBe("INTEGRITY");
    // Stopped at the first piece past 10,000 bytes, not after decompressing all 8 MB.
    expect(String((error as Error).message)).toMatch(/hash mismatch \(more than 10000 bytes\)/);
    expect((await engine.verify(id)).problems.map((p) => p.path)).toEqual(["big.bin"]);
  });
});

describe("paths that would escape the target", () => {
  const cases: [string, ManifestEntry[]][] = [
    ["a '..' path", [{ ...base, path: "../escaped.txt", type: "file", hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }]],
    ["an absolute path", [{ ...base, path: "/tmp/torpor-escaped.txt", type: "file", hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }]],
    ["a '..' inside a path", [{ ...base, path: "a", type: "dir" }, { ...base, path: "a/../../x", type: "dir" }]],
  ];
  for (const [name, entries] of cases) {
    it(`refuses ${name} and writes nothing`, async () => {
      const id = await plantManifest(entries);
      const out = path.join(await dir("esc"), "target");
      expect(await codeOf(engine.restore(id, localDirTarget(out)))).toBe("UNSAFE_PATH");
      expect(await readdir(path.dirname(out))).toEqual([]);
    });
  }

  it("refuses an entry under a symlink that points outside, and writes nothing outside", async () => {
    const outside = await dir("outside");
    const id = await plantManifest([
      { ...base, path: "link", type: "symlink", target: outside },
      { ...base, path: "link/owned.txt", type: "file", hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    ]);
    const out = await dir("esc-target");
    expect(await codeOf(engine.restore(id, localDirTarget(out)))).toBe("UNSAFE_PATH");
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(out)).toEqual([]);
  });
});

describe("the restore target", () => {
  it("refuses a non-empty folder unless asked, and then never writes through its symlinks", async () => {
    const out = await dir("nonempty");
    const outside = await dir("outside2");
    await writeFile(path.join(out, "stale.txt"), "old");
    expect(await codeOf(engine.restore(checkpoint, localDirTarget(out)))).toBe("VALIDATION");
    // A link where the checkpoint has a dir: an overlay restore must replace it, not follow it.
    await symlink(outside, path.join(out, "b"));
    await engine.restore(checkpoint, localDirTarget(out), { allowNonEmpty: true });
    expect(await readdir(outside)).toEqual([]);
    const tree = await readTree(out);
    expect(tree["b"]?.type).toBe("dir");
    expect(tree["b/c.txt"]?.size).toBe(500);
    expect(tree["stale.txt"]?.type).toBe("file");
  });

  it("a missing checkpoint id is NOT_FOUND with a message naming it", async () => {
    const missing = "cp_000000000" + "0".repeat(31);
    const error = await engine.restore(missing, localDirTarget(await dir("nf"))).catch((e: unknown) => e);
    expect(isTorporError(error, "NOT_FOUND")).toBe(true);
    expect((error as Error).message).toContain(missing);
    expect(await codeOf(engine.verify("not-an-id"))).toBe("NOT_FOUND");
  });
});

describe("a parent folder made of a file", () => {
  it("restoring into a path whose parent is a file fails with a clear error", async () => {
    const base2 = await dir("fileparent");
    await mkdir(path.join(base2, "x"));
    await writeFile(path.join(base2, "f"), "file");
    expect(await codeOf(engine.restore(checkpoint, localDirTarget(path.join(base2, "f", "sub"))))).not.toBe("");
  });
});
