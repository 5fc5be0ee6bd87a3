/**
 * The engine's parsed-manifest cache (src/checkpoint/engine/manifest-cache.ts, issue 10): a
 * snapshot on the previous one does not GET its parent's manifest; what the engine keeps of a
 * commit is exactly what a read returns; a removed checkpoint (here or by another engine) is not
 * served; the cache evicts at its bounds; a kept manifest cannot be changed; restore and verify
 * still refuse a damaged stored manifest, which then leaves the cache.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget, type CheckpointEngine } from "../../src/checkpoint/index";
import { ManifestCache } from "../../src/checkpoint/engine/manifest-cache";
import { takeSnapshot, type SnapshotSettings } from "../../src/checkpoint/engine/snapshot";
import { keys } from "../../src/checkpoint/repo/format";
import { resolveManifest, type ResolvedManifest } from "../../src/checkpoint/repo/manifest-chain";
import { isTorporError } from "../../src/core/errors";
import type { ObjectStore } from "../../src/objectstore/types";
import { recordingGets, startTestS3, type TestS3 } from "../helpers/s3";
import { tempDirs, writeTree } from "./tree";

let s3: TestS3;
const temp = tempDirs();
/** Every GET's key, in order. */
const gets: string[] = [];
/** The bucket, with every GET recorded (ranged or whole, buffer or stream). */
let counted: ObjectStore;

beforeAll(async () => {
  s3 = await startTestS3();
  counted = recordingGets(s3.objects, gets);
});
afterAll(async () => {
  await s3.close();
  await temp.removeAll();
});
beforeEach(() => {
  gets.length = 0;
});

const engineOn = (objects: ObjectStore) => createCheckpointEngine({ objects, smallFileBytes: 4096, packTargetBytes: 64 * 1024 });
const manifestGets = () => gets.filter((k) => k.startsWith("manifests/") || k.startsWith("bases/"));

async function workspace(label: string): Promise<string> {
  const dir = await temp.make(label);
  await writeTree(dir, { "src/a.ts": "alpha", "src/b.ts": "beta".repeat(300), "docs/readme.md": "hello", ln: { link: "src/a.ts" } });
  return dir;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error, "expected a failure").toBeDefined();
  return isTorporError(error) ? error.code : "untyped";
}

describe("the parent manifest of the next snapshot", () => {
  it("is not read from the store: a second and a third snapshot GET no manifest", async () => {
    const engine = engineOn(counted);
    const dir = await workspace("chain");
    const first = await engine.snapshot(localDirSource(dir));
    await writeFile(path.join(dir, "src/a.ts"), "alpha 2");
    gets.length = 0;
    const second = await engine.snapshot(localDirSource(dir), { parent: first.checkpoint, changedPaths: ["src/a.ts"] });
    expect(manifestGets()).toEqual([]);
    await writeFile(path.join(dir, "docs/readme.md"), "hello 3");
    const third = await engine.snapshot(localDirSource(dir), { parent: second.checkpoint, changedPaths: ["docs/readme.md"] });
    expect(manifestGets()).toEqual([]);
    // And the flush's own check (readManifest, then the snapshot it hands the manifest to) reads none either.
    const check = await engine.readManifest(third.checkpoint);
    await engine.snapshot(localDirSource(dir), { parent: third.checkpoint, parentManifest: check, changedPaths: [] });
    expect(manifestGets()).toEqual([]);
    // Another engine (a new process) reads what the first one kept: the same entries.
    const fresh = await engineOn(s3.objects).readManifest(third.checkpoint);
    expect(check).toEqual(fresh);
  });

  it("is kept exactly as a read returns it (header, entries, locations, chain), full or delta", async () => {
    const dir = await workspace("exact");
    for (const deltaChainMax of [20, 0]) {
      const kept = new Map<string, ResolvedManifest>();
      const settings: SnapshotSettings = {
        objects: s3.objects,
        concurrency: 4,
        packTargetBytes: 64 * 1024,
        smallFileBytes: 4096,
        ignore: [],
        deltaChainMax,
        readManifest: (id) => resolveManifest(s3.objects, id),
        committed: (id, manifest) => kept.set(id, manifest),
      };
      const first = await takeSnapshot(localDirSource(dir), {}, settings);
      await writeFile(path.join(dir, `src/new-${deltaChainMax}.ts`), `new ${deltaChainMax}`);
      const second = await takeSnapshot(localDirSource(dir), { parent: first.checkpoint }, settings);
      for (const id of [first.checkpoint, second.checkpoint]) expect(kept.get(id)).toEqual(await resolveManifest(s3.objects, id));
      expect(kept.get(second.checkpoint)!.chain.depth).toBe(deltaChainMax > 0 ? 1 : 0);
    }
  });
});

describe("what the cache never serves", () => {
  it("a checkpoint this engine removed", async () => {
    const engine = engineOn(counted);
    const first = await engine.snapshot(localDirSource(await workspace("removed")));
    await engine.readManifest(first.checkpoint);
    await engine.remove(first.checkpoint);
    expect(await codeOf(engine.readManifest(first.checkpoint))).toBe("NOT_FOUND");
  });

  it("a checkpoint another engine removed: neither readManifest nor a snapshot on it", async () => {
    const engine = engineOn(counted);
    const dir = await workspace("removed-elsewhere");
    const first = await engine.snapshot(localDirSource(dir));
    await engineOn(s3.objects).remove(first.checkpoint);
    expect(await codeOf(engine.readManifest(first.checkpoint))).toBe("NOT_FOUND");
    expect(await codeOf(engine.snapshot(localDirSource(dir), { parent: first.checkpoint }))).toBe("NOT_FOUND");
  });

  it("a damaged stored manifest to restore or verify; once refused, to readManifest either", async () => {
    const engine = engineOn(counted);
    const first = await engine.snapshot(localDirSource(await workspace("damaged")));
    const body = await s3.objects.getBuffer(keys.manifest(first.checkpoint));
    const tampered = Buffer.from(body);
    tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0xff;
    await s3.objects.put(keys.manifest(first.checkpoint), tampered);
    // Kept from the commit: the id names the bytes the engine wrote, so this is still that checkpoint.
    expect((await engine.readManifest(first.checkpoint)).summary.id).toBe(first.checkpoint);
    expect(await codeOf(engine.verify(first.checkpoint))).toBe("INTEGRITY");
    expect(await codeOf(engine.readManifest(first.checkpoint))).toBe("INTEGRITY");
    await s3.objects.put(keys.manifest(first.checkpoint), tampered.subarray(0, 20));
    expect(await codeOf(engine.restore(first.checkpoint, localDirTarget(await temp.make("damaged-out"))))).toBe("INTEGRITY");
    await s3.objects.put(keys.manifest(first.checkpoint), body);
    expect((await engine.verify(first.checkpoint)).ok).toBe(true);
  });
});

describe("a kept manifest", () => {
  it("cannot be changed by a caller", async () => {
    const engine: CheckpointEngine = engineOn(counted);
    const first = await engine.snapshot(localDirSource(await workspace("frozen")));
    const read = await engine.readManifest(first.checkpoint);
    const file = read.entries.find((e) => e.type === "file")!;
    expect(() => {
      file.size = 1;
    }).toThrow(TypeError);
    expect(() => read.entries.push({ ...file, path: "zz" })).toThrow(TypeError);
    expect(() => {
      read.summary.meta.x = "y";
    }).toThrow(TypeError);
    expect(await engineOn(s3.objects).readManifest(first.checkpoint)).toEqual(await engine.readManifest(first.checkpoint));
  });
});

describe("the cache's bounds", () => {
  const fake = (entries: number, baseEntries = 0): ResolvedManifest => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `f${i}`, type: "file" as const, mode: 0o644, size: 0, mtimeMs: 0 }));
    const header = { parent: null, createdAt: 0, files: 0, dirs: 0, symlinks: 0, bytes: 0, meta: {} };
    const base = { header, entries: list(baseEntries), locations: new Map() };
    const own = { header, entries: list(entries), locations: new Map() };
    return { ...own, chain: { depth: baseEntries > 0 ? 1 : 0, deltaBytes: 0, baseId: "b", base: baseEntries > 0 ? base : own, baseBytes: 0 } };
  };

  it("evicts the least recently used past its count of manifests", () => {
    const cache = new ManifestCache({ manifests: 2, entries: 1000 });
    cache.put("a", fake(1));
    cache.put("b", fake(1));
    expect(cache.get("a")).toBeDefined();
    cache.put("c", fake(1));
    expect(cache.ids()).toEqual(["a", "c"]);
    expect(cache.get("b")).toBeUndefined();
  });

  it("evicts past its count of entries (a delta weighs its base too), and keeps nothing larger than the bound", () => {
    const cache = new ManifestCache({ manifests: 10, entries: 100 });
    cache.put("a", fake(40));
    cache.put("b", fake(10, 40));
    expect(cache.ids()).toEqual(["a", "b"]);
    cache.put("c", fake(30));
    expect(cache.ids()).toEqual(["b", "c"]);
    cache.put("huge", fake(101));
    expect(cache.ids()).toEqual(["b", "c"]);
    cache.delete("b");
    cache.put("d", fake(70));
    expect(cache.ids()).toEqual(["c", "d"]);
  });
});
