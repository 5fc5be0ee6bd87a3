/**
 * Checkpoints written before zstd (Brotli frames and large blobs, codec.ts) stay readable: they
 * restore through both paths (the writer threads into an empty folder, the engine's own checks
 * over existing content), verify, and serve as the parent of a new (zstd) checkpoint that reuses
 * their blobs.
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { brotliCompressSync, constants } from "node:zlib";
import { describe, expect, it } from "vitest";
import { localDirSource, localDirTarget, type ManifestEntry } from "../../src/checkpoint/index";
import { type BlobLocation, encodeManifest, keys } from "../../src/checkpoint/repo/format";
import { checkpointFixture } from "./fixture";
import { noise, readTree } from "./tree";

const f = checkpointFixture();
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** As the Brotli version wrote them: frames at quality 2 with a 2^20 window, large blobs at quality 1 with 2^22. */
const brotli = (data: Buffer, quality: number, lgwin: number) =>
  brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_LGWIN]: lgwin } });

/** Stores a Brotli checkpoint of two small files (one frame of one pack) and one large file. */
async function brotliCheckpoint(): Promise<{ id: string; files: Record<string, Buffer> }> {
  const files = { "src/a.txt": Buffer.from("alpha\n".repeat(50)), "src/b.txt": Buffer.from("beta\n".repeat(70)), "big.bin": noise(300_000, 9) };
  const raw = Buffer.concat([files["src/a.txt"], files["src/b.txt"]]);
  const frame = brotli(raw, 2, 20);
  const pack = Buffer.concat([Buffer.from("x".repeat(10)), frame]); // the frame at offset 10
  const packId = sha(pack);
  await f.s3.objects.put(keys.pack(packId), pack);
  await f.s3.objects.put(keys.blob(sha(files["big.bin"])), brotli(files["big.bin"], 1, 22));
  const mtimeMs = Date.now() - 3600_000;
  const entry = (p: string, data: Buffer): ManifestEntry => ({ path: p, type: "file", mode: 0o644, size: data.length, mtimeMs, hash: sha(data) });
  const entries: ManifestEntry[] = [
    entry("big.bin", files["big.bin"]),
    { path: "src", type: "dir", mode: 0o755, size: 0, mtimeMs },
    entry("src/a.txt", files["src/a.txt"]),
    entry("src/b.txt", files["src/b.txt"]),
  ];
  const locations = new Map<string, BlobLocation>([
    [sha(files["src/a.txt"]), [packId, 10, frame.length, 0, files["src/a.txt"].length]],
    [sha(files["src/b.txt"]), [packId, 10, frame.length, files["src/a.txt"].length, files["src/b.txt"].length]],
    [sha(files["big.bin"]), ["", 0, 0, 0, files["big.bin"].length]],
  ]);
  const header = { parent: null, createdAt: Date.now(), files: 3, dirs: 1, symlinks: 0, bytes: raw.length + files["big.bin"].length, meta: {} };
  const { id, body } = encodeManifest({ header, entries, locations });
  await f.s3.objects.put(keys.manifest(id), body);
  return { id, files };
}

async function expectFiles(root: string, files: Record<string, Buffer>): Promise<void> {
  const tree = await readTree(root);
  for (const [p, data] of Object.entries(files)) expect(tree[p]?.sha256, p).toBe(sha(data));
}

describe("a checkpoint written with Brotli", () => {
  it("restores into an empty folder and over existing content, and verifies", async () => {
    const { id, files } = await brotliCheckpoint();
    const empty = await f.dir("brotli-empty");
    await f.engine.restore(id, localDirTarget(empty));
    await expectFiles(empty, files);

    const over = await f.dir("brotli-over");
    await writeFile(path.join(over, "big.bin"), "old content");
    await f.engine.restore(id, localDirTarget(over), { allowNonEmpty: true });
    await expectFiles(over, files);

    expect(await f.engine.verify(id)).toMatchObject({ ok: true, problems: [] });
  });

  it("refuses a Brotli frame that would decompress to 64 MB, on both restore paths, without decompressing it", async () => {
    const small = Buffer.from("small");
    const bomb = brotli(Buffer.alloc(64 * 1024 * 1024), 2, 20);
    const packId = sha(bomb);
    await f.s3.objects.put(keys.pack(packId), bomb);
    const entries: ManifestEntry[] = [{ path: "a.txt", type: "file", mode: 0o644, size: small.length, mtimeMs: Date.now(), hash: sha(small) }];
    const header = { parent: null, createdAt: Date.now(), files: 1, dirs: 0, symlinks: 0, bytes: small.length, meta: {} };
    const { id, body } = encodeManifest({ header, entries, locations: new Map<string, BlobLocation>([[sha(small), [packId, 0, bomb.length, 0, small.length]]]) });
    await f.s3.objects.put(keys.manifest(id), body);
    const over = await f.dir("brotli-bomb-over");
    await writeFile(path.join(over, "old.txt"), "old");
    for (const [label, target, options] of [["empty folder", localDirTarget(await f.dir("brotli-bomb")), {}], ["over content", localDirTarget(over), { allowNonEmpty: true }]] as const) {
      const error = await f.engine.restore(id, target, options).then(() => undefined, (e: unknown) => e);
      expect(String(error), label).toMatch(/cannot decompress.*corrupt, truncated or tampered/);
    }
  });

  it("is the parent of a zstd checkpoint that reuses its blobs and restores both codecs together", async () => {
    const { id, files } = await brotliCheckpoint();
    const work = await f.dir("brotli-work");
    await f.engine.restore(id, localDirTarget(work));
    const added = noise(200_000, 10);
    await writeFile(path.join(work, "new.bin"), added);
    const next = await f.engine.snapshot(localDirSource(work), { parent: id });
    // Only the new file is uploaded (plus its manifest): the Brotli blobs are reused as stored.
    expect(next.uploadedBytes).toBeLessThan(added.length + 50_000);
    const out = await f.dir("brotli-mixed");
    await f.engine.restore(next.checkpoint, localDirTarget(out));
    await expectFiles(out, { ...files, "new.bin": added });
    expect((await f.engine.verify(next.checkpoint)).ok).toBe(true);
  });
});
