/**
 * Delta checkpoints (issue 10 item 5): an incremental checkpoint stores only what changed since
 * the full manifest its chain starts at (its base); every reader resolves it; the chain is
 * compacted into a full manifest after N checkpoints; a removed base stays readable for the deltas
 * on it until gc finds no delta that names it; and a delta is checked as strictly as a full
 * manifest (hash, base, paths, counts).
 */
import { chmod, mkdir, readdir, rm, symlink, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget, type CheckpointEngine, type ManifestEntry } from "../../src/checkpoint/index";
import { type BlobLocation, encodeDelta, keys, type ManifestHeader, sha256 } from "../../src/checkpoint/repo/format";
import { childPrefix, encodeCheckpoint, MAX_CHAIN_DEPTH, type ResolvedManifest } from "../../src/checkpoint/repo/manifest-chain";
import { isTorporError } from "../../src/core/errors";
import type { CheckpointRecord } from "../../src/core/types";
import { planRetention } from "../../src/core/retention";
import { checkpointFixture } from "./fixture";
import { noise, readTree, writeTree } from "./tree";

const f = checkpointFixture();

async function kindOf(id: string): Promise<"full" | "delta" | "none"> {
  const key = (await f.s3.objects.head(keys.manifest(id))) ? keys.manifest(id) : null;
  if (!key) return "none";
  const head = (await f.s3.objects.getBuffer(key, { start: 0, end: 20 })).toString("latin1");
  return head.startsWith("TORPOR-DELTA 1\n") ? "delta" : "full";
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const item of f.s3.objects.list(prefix)) out.push(item.key);
  return out.sort();
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error, "expected a failure").toBeDefined();
  return { code: isTorporError(error) ? error.code : "untyped", message: (error as Error).message };
}

async function expectRestores(engine: CheckpointEngine, id: string, src: string, label: string): Promise<void> {
  const out = await f.dir(label);
  await engine.restore(id, localDirTarget(out));
  expect(await readTree(out)).toEqual(await readTree(src));
}

/** A workspace of 300 files in 10 dirs, a symlink and a large file. */
async function workspace(label: string): Promise<string> {
  const src = await f.dir(label);
  const spec: Record<string, string | Buffer | { link: string }> = { "big.bin": noise(40_000, 3), link: { link: "d0/f0.txt" } };
  for (let d = 0; d < 10; d++) for (let i = 0; i < 30; i++) spec[`d${d}/f${i}.txt`] = `file ${d}/${i}\n`.repeat(20);
  await writeTree(src, spec);
  return src;
}

describe("delta checkpoints", () => {
  it("store only what changed, and every reader resolves the chain to the same manifest", async () => {
    const engine = f.engine;
    const src = await workspace("chain");
    const base = await engine.snapshot(localDirSource(src));
    expect(await kindOf(base.checkpoint)).toBe("full");
    const fullBytes = (await f.s3.objects.head(keys.manifest(base.checkpoint)))!.size;

    // Each step changes something of another kind: content, a new file and dir, a deletion, a mode, a symlink target.
    const steps: (() => Promise<void>)[] = [
      () => writeFile(path.join(src, "d1/f1.txt"), "changed\n"),
      async () => {
        await mkdir(path.join(src, "new/deep"), { recursive: true });
        await writeFile(path.join(src, "new/deep/n.txt"), "new\n");
      },
      () => unlink(path.join(src, "d2/f2.txt")),
      () => chmod(path.join(src, "d3/f3.txt"), 0o600),
      async () => {
        await unlink(path.join(src, "link"));
        await symlink("elsewhere", path.join(src, "link"));
      },
      () => rm(path.join(src, "d4"), { recursive: true }),
      () => writeFile(path.join(src, "big.bin"), noise(40_000, 4)),
    ];
    let parent = base.checkpoint;
    for (const [i, step] of steps.entries()) {
      await step();
      const inc = await engine.snapshot(localDirSource(src), { parent });
      expect(await kindOf(inc.checkpoint), `step ${i}`).toBe("delta");
      const deltaBytes = (await f.s3.objects.head(keys.manifest(inc.checkpoint)))!.size;
      expect(deltaBytes, `step ${i}: delta vs full manifest`).toBeLessThan(fullBytes / 2);
      // What a full manifest of the same folder would hold, entry for entry.
      const reference = await createCheckpointEngine({ objects: f.s3.objects, smallFileBytes: 4096, deltaChainMax: 0 }).snapshot(localDirSource(src));
      expect(await kindOf(reference.checkpoint)).toBe("full");
      const resolved = await engine.readManifest(inc.checkpoint);
      expect(resolved.entries).toEqual((await engine.readManifest(reference.checkpoint)).entries);
      expect(resolved.summary).toMatchObject({ parent, files: reference.files, bytes: reference.bytes });
      parent = inc.checkpoint;
    }
    await expectRestores(engine, parent, src, "chain-out");
    expect(await engine.verify(parent)).toMatchObject({ ok: true, problems: [] });
    const listed = (await engine.list()).find((c) => c.id === parent);
    expect(listed).toMatchObject({ files: (await engine.readManifest(parent)).entries.filter((e) => e.type === "file").length });
  });

  it("writes a full manifest again after TORPOR_DELTA_CHAIN_MAX deltas (compaction)", async () => {
    const engine = createCheckpointEngine({ objects: f.s3.objects, smallFileBytes: 4096, deltaChainMax: 3 });
    const src = await workspace("compact");
    let parent = (await engine.snapshot(localDirSource(src))).checkpoint;
    const kinds: string[] = [];
    for (let i = 0; i < 8; i++) {
      await writeFile(path.join(src, "d0/f0.txt"), `round ${i}\n`);
      parent = (await engine.snapshot(localDirSource(src), { parent })).checkpoint;
      kinds.push(await kindOf(parent));
    }
    expect(kinds).toEqual(["delta", "delta", "delta", "full", "delta", "delta", "delta", "full"]);
    await expectRestores(engine, parent, src, "compact-out");
  });

  it("compacts when a delta would pass a quarter of its base (at least 64 KB)", () => {
    const parentId = "cp_000000001" + "a".repeat(31);
    const header: ManifestHeader = { parent: parentId, createdAt: 2, files: 0, dirs: 0, symlinks: 0, bytes: 0, meta: {} };
    const base = { header: { ...header, parent: null }, entries: [], locations: new Map<string, BlobLocation>() };
    const parent = (baseBytes: number, depth = 2): ResolvedManifest => ({ ...base, chain: { depth, deltaBytes: 0, baseId: parentId, base, baseBytes } });
    // 5,000 new dirs with incompressible names: a delta of about 170 KB.
    const entries: ManifestEntry[] = Array.from({ length: 5000 }, (_, i) => ({ path: sha256(String(i)), type: "dir" as const, mode: 0o755, size: 0, mtimeMs: 1 }));
    entries.sort((a, b) => (a.path < b.path ? -1 : 1));
    const big = { header: { ...header, dirs: 5000 }, entries, locations: new Map<string, BlobLocation>() };
    const small = { header: { ...header, dirs: 1 }, entries: entries.slice(0, 1), locations: new Map<string, BlobLocation>() };
    expect(encodeCheckpoint(small, parent(1000), 20).deltaOf).toBe(parentId);
    expect(encodeCheckpoint(big, parent(1000), 20).deltaOf).toBeNull();
    expect(encodeCheckpoint(big, parent(4_000_000), 20).deltaOf).toBe(parentId);
    expect(encodeCheckpoint(small, parent(1000, 2), 2).deltaOf).toBeNull(); // depth 3 > 2
    expect(encodeCheckpoint(small, parent(1000), 0).deltaOf).toBeNull();
  });

  it("a removed base stays readable for its deltas; gc keeps what a kept delta needs and drops it once none does", async () => {
    const engine = f.engine;
    const src = await workspace("prune");
    await writeTree(src, { "only-in-base.bin": noise(30_000, 7) });
    const base = await engine.snapshot(localDirSource(src));
    await unlink(path.join(src, "only-in-base.bin"));
    const mid = await engine.snapshot(localDirSource(src), { parent: base.checkpoint });
    await writeFile(path.join(src, "d5/f5.txt"), "tip\n");
    const tip = await engine.snapshot(localDirSource(src), { parent: mid.checkpoint });
    expect([await kindOf(mid.checkpoint), await kindOf(tip.checkpoint)]).toEqual(["delta", "delta"]);

    // Retention as the workflow applies it: keep the last one, the others are pruned.
    const now = Date.now();
    const decisions = planRetention({
      checkpoints: [base, mid, tip].map(
        (c, i): CheckpointRecord => ({
          id: c.checkpoint,
          sessionId: "s1",
          parentId: c.parent,
          kind: "manual",
          label: null,
          status: "committed",
          pinned: false,
          files: c.files,
          bytes: c.bytes,
          uploadedBytes: c.uploadedBytes,
          createdAt: now - (3 - i) * 1000,
          committedAt: now - (3 - i) * 1000,
          deletedAt: null,
        }),
      ),
      policy: { keepLast: 1, keepDailyDays: 0 },
      latestCheckpointId: tip.checkpoint,
      now: now + 3 * 24 * 3600_000,
    });
    const pruned = decisions.filter((d) => d.status === "prune").map((d) => d.checkpointId);
    expect(pruned.sort()).toEqual([base.checkpoint, mid.checkpoint].sort());
    for (const id of pruned) await engine.remove(id);

    const ids = (await engine.list()).map((c) => c.id);
    expect(ids).toContain(tip.checkpoint);
    expect(ids).not.toContain(base.checkpoint);
    expect((await errorOf(engine.restore(base.checkpoint, localDirTarget(await f.dir("prune-gone"))))).code).toBe("NOT_FOUND");
    // The base is kept for the tip; the middle delta, which nothing is written on, is simply gone.
    expect(await keysUnder("bases/")).toEqual([keys.base(base.checkpoint)]);
    expect(await keysUnder(childPrefix(base.checkpoint))).toEqual([`children/${base.checkpoint}/${tip.checkpoint}`]);

    // The blob only the base holds stays while the chain is kept (gc keeps the union of its links).
    const onlyInBase = keys.blob(sha256(noise(30_000, 7)));
    await engine.gc({ graceMs: 0, now: Date.now() + 1000 });
    expect(await keysUnder("bases/")).toEqual([keys.base(base.checkpoint)]);
    expect(await f.s3.objects.head(onlyInBase)).not.toBeNull();
    expect(await engine.verify(tip.checkpoint)).toMatchObject({ ok: true });
    await expectRestores(engine, tip.checkpoint, src, "prune-out");

    // The last delta on the base goes: the base, its markers and the base-only blob go with the next gc.
    await engine.remove(tip.checkpoint);
    await engine.gc({ graceMs: 0, now: Date.now() + 1000 });
    expect(await keysUnder("bases/")).toEqual([]);
    expect(await f.s3.objects.head(onlyInBase)).toBeNull();
    expect(await keysUnder(childPrefix(base.checkpoint))).toEqual([]);
  });

  it("a removed delta with no delta on it leaves no base and no marker behind", async () => {
    const src = await workspace("leaf");
    const base = await f.engine.snapshot(localDirSource(src));
    await writeFile(path.join(src, "d0/f1.txt"), "leaf\n");
    const leaf = await f.engine.snapshot(localDirSource(src), { parent: base.checkpoint });
    expect(await keysUnder(childPrefix(base.checkpoint))).toEqual([`children/${base.checkpoint}/${leaf.checkpoint}`]);
    await f.engine.remove(leaf.checkpoint);
    expect(await keysUnder(childPrefix(base.checkpoint))).toEqual([]);
    await f.engine.remove(base.checkpoint);
    expect((await keysUnder("bases/")).filter((k) => k.includes(base.checkpoint))).toEqual([]);
  });
});

describe("a damaged or hostile delta is refused", () => {
  let parentId = "";
  let parentSrc = "";
  let deltaId = "";
  const header = (over: Partial<ManifestHeader> = {}): ManifestHeader => ({
    parent: parentId,
    base: parentId,
    createdAt: Date.now(),
    depth: 1,
    files: 1,
    dirs: 1,
    symlinks: 1,
    bytes: 2,
    meta: {},
    ...over,
  });
  /** Plants a delta as an attacker with write access to the bucket could: well-formed, matching id. */
  async function plant(h: ManifestHeader, entries: ManifestEntry[], deleted: string[] = []): Promise<string> {
    const { id, body } = encodeDelta({ header: h, entries, deleted, locations: new Map() });
    await f.s3.objects.put(keys.manifest(id), body);
    return id;
  }
  const fakeId = (n: number) => `cp_000000001${n.toString(16).padStart(31, "0")}`;
  /** A delta object written by hand (encodeDelta refuses these headers), with a matching id. */
  async function forge(h: ManifestHeader): Promise<string> {
    const payload = gzipSync(JSON.stringify({ packs: [], entries: [], deleted: [] }));
    const body = Buffer.concat([Buffer.from(`TORPOR-DELTA 1\n${JSON.stringify(h)}\n`), payload]);
    const id = `cp_${Date.now().toString(36).padStart(9, "0").slice(-9)}${sha256(body).slice(0, 31)}`;
    await f.s3.objects.put(keys.manifest(id), body);
    return id;
  }
  const emptyFile = (p: string): ManifestEntry => ({ path: p, type: "file", mode: 0o644, size: 0, mtimeMs: 1, hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" });

  it("sets up a parent: one dir, one file, one symlink", async () => {
    parentSrc = await f.dir("hostile-parent");
    await writeTree(parentSrc, { "s/a.txt": "hi", ln: { link: "/etc" } });
    parentId = (await f.engine.snapshot(localDirSource(parentSrc))).checkpoint;
  });

  it("a tampered delta (hash mismatch), and a delta whose parent is gone", async () => {
    await writeFile(path.join(parentSrc, "s/b.txt"), "b");
    const inc = await f.engine.snapshot(localDirSource(parentSrc), { parent: parentId });
    expect(await kindOf(inc.checkpoint)).toBe("delta");
    deltaId = inc.checkpoint;
    const body = await f.s3.objects.getBuffer(keys.manifest(inc.checkpoint));
    const tampered = Buffer.from(body);
    tampered[tampered.length - 5]! ^= 0x5a;
    await f.s3.objects.put(keys.manifest(inc.checkpoint), tampered);
    // Another engine (a new process): f.engine keeps what it committed (engine/manifest-cache.ts).
    expect(await errorOf(createCheckpointEngine({ objects: f.s3.objects }).readManifest(inc.checkpoint))).toMatchObject({ code: "INTEGRITY", message: expect.stringMatching(/hash mismatch/) });
    await f.s3.objects.put(keys.manifest(inc.checkpoint), body);

    const gone = "cp_000000001" + "b".repeat(31);
    const orphan = await plant(header({ parent: gone, base: gone }), []);
    expect(await errorOf(f.engine.restore(orphan, localDirTarget(await f.dir("orphan"))))).toMatchObject({
      code: "INTEGRITY",
      message: expect.stringMatching(/its chain is broken: its base cp_000000001b+ is missing/),
    });
    // gc cannot tell what the broken chain needed: it stops, deleting nothing.
    const before = await keysUnder("");
    const stopped = await f.engine.gc({ graceMs: 0, now: Date.now() + 1000 });
    expect(stopped.unreadable).toEqual([expect.stringMatching(/the base of a kept delta is missing/)]);
    expect(stopped.deletedObjects).toBe(0);
    expect(await keysUnder("")).toEqual(before);
    await f.s3.objects.delete([keys.manifest(orphan)]);
  });

  const cases: [string, () => Promise<string>, RegExp, string][] = [
    ["a path outside the workspace", () => plant(header({ files: 2 }), [emptyFile("../escape")]), /refused entry '\.\.\/escape'/, "UNSAFE_PATH"],
    ["an absolute path", () => plant(header({ files: 2 }), [emptyFile("/abs")]), /refused entry '\/abs'/, "UNSAFE_PATH"],
    ["a file under the parent's symlink", () => plant(header({ files: 2 }), [emptyFile("ln/passwd")]), /under the symlink 'ln'/, "UNSAFE_PATH"],
    ["a dir turned into a file with its children kept", () => plant(header({ files: 2, dirs: 0 }), [emptyFile("s")]), /parent 's' is not a directory/, "UNSAFE_PATH"],
    ["the deletion of a path the base does not hold", () => plant(header(), [], ["nope"]), /deletes 'nope', which its base does not hold/, "INTEGRITY"],
    ["a path both deleted and changed", () => plant(header(), [emptyFile("s/a.txt")], ["s/a.txt"]), /'s\/a.txt' both deleted and changed/, "INTEGRITY"],
    ["counts that do not match the resolved chain", () => plant(header({ files: 7 }), []), /does not match the counts/, "INTEGRITY"],
    ["depth 1 on a parent that is not its base", () => plant(header({ parent: fakeId(1) }), []), /depth 1 on a parent that is not its base/, "INTEGRITY"],
    ["a base that is itself a delta", () => plant(header({ parent: deltaId, base: deltaId, depth: 2, files: 2, bytes: 3 }), []), /its base cp_\w+ is not a full manifest/, "INTEGRITY"],
    ["a chain longer than a reader follows", () => plant(header({ depth: MAX_CHAIN_DEPTH + 1, parent: fakeId(2) }), []), /depth 129 \(at most 128\)/, "INTEGRITY"],
    ["a delta that claims no parent", () => forge({ ...header(), parent: null }), /a delta without a parent or a depth/, "INTEGRITY"],
    ["a delta without a depth", () => forge({ ...header(), depth: undefined }), /a delta without a parent or a depth/, "INTEGRITY"],
    ["a delta without a base", () => forge({ ...header(), base: undefined }), /a delta without a base/, "INTEGRITY"],
  ];
  for (const [what, make, message, code] of cases) {
    it(`${what}, before anything is written`, async () => {
      const id = await make();
      const out = await f.dir("hostile-out");
      expect(await errorOf(f.engine.restore(id, localDirTarget(out)))).toMatchObject({ code, message: expect.stringMatching(message) });
      expect(await readdir(out)).toEqual([]);
      // verify reads the same resolved manifest (paths are restore's concern: nothing is written there).
      if (code === "INTEGRITY") expect((await errorOf(f.engine.verify(id))).code).toBe("INTEGRITY");
      await f.s3.objects.delete([keys.manifest(id)]);
    });
  }
});
