/**
 * The bucket's dedup index (src/checkpoint/repo/dedup-index.ts): a new session's first snapshot reuses
 * another session's packs through dedup/ (never reading index/<pack>), after gc, after a crash
 * between the commit and the log, with a stale entry; gc reads only new manifests and never
 * deletes a referenced pack; one garbage object under manifests/ is skipped by list and stops gc.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget } from "../../src/checkpoint/index";
import type { ObjectStore } from "../../src/objectstore/types";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { readTree, tempDirs, writeTree } from "./tree";

let s3: TestS3;
const temp = tempDirs();
const gets: string[] = [];
/** The bucket, with every GET recorded. */
let objects: ObjectStore;

beforeAll(async () => {
  s3 = await startTestS3();
  const inner = s3.objects;
  objects = { ...inner, list: inner.list.bind(inner), put: inner.put.bind(inner), head: inner.head.bind(inner), delete: inner.delete.bind(inner), check: inner.check.bind(inner), getStream: inner.getStream.bind(inner),
    getBuffer: (key, range) => (gets.push(key), inner.getBuffer(key, range)) };
});
afterAll(async () => {
  await s3.close();
  await temp.removeAll();
});
beforeEach(async () => {
  const all: string[] = [];
  for await (const item of s3.objects.list("")) all.push(item.key);
  await s3.objects.delete(all);
  gets.length = 0;
});

// Not compressible, so that what a snapshot uploads shows what it did not reuse.
const modules = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`node_modules/pkg${i}/index.js`, randomBytes(2000).toString("base64")]));
async function workspace(label: string, own: string) {
  const dir = await temp.make(label);
  await writeTree(dir, { ...modules, "own.txt": own });
  return dir;
}
const engine = () => createCheckpointEngine({ objects });
const keysUnder = async (prefix: string) => {
  const out: string[] = [];
  for await (const item of s3.objects.list(prefix)) out.push(item.key);
  return out;
};

describe("dedup index", () => {
  it("a new session reuses another session's packs through dedup/, not index/, before and after gc", async () => {
    const a = await engine().snapshot(localDirSource(await workspace("a", "a")));
    expect(await keysUnder("dedup/log/")).toEqual([`dedup/log/${a.checkpoint}`]);
    gets.length = 0;
    const bDir = await workspace("b", "b");
    const b = await engine().snapshot(localDirSource(bDir));
    expect(gets.filter((k) => k.startsWith("index/"))).toEqual([]);
    expect(b.uploadedObjects).toBe(3); // own.txt's pack, its index, the manifest: node_modules reused
    const gc = await engine().gc({ graceMs: 60_000 });
    expect(gc.deletedObjects).toBe(0);
    expect(await keysUnder("dedup/log/")).toEqual([]);
    expect(await keysUnder("dedup/gen/")).toHaveLength(1);
    gets.length = 0;
    const cDir = await workspace("c", "c");
    const c = await engine().snapshot(localDirSource(cDir));
    expect(c.uploadedObjects).toBe(3);
    expect(gets.filter((k) => k.startsWith("dedup/"))).toHaveLength(1); // the generation
    const out = await temp.make("c-out");
    await engine().restore(c.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(cDir));
  });

  it("a crash between the commit and the log only costs reuse, and the next gc indexes it", async () => {
    const a = await engine().snapshot(localDirSource(await workspace("crash-a", "a")));
    await s3.objects.delete([`dedup/log/${a.checkpoint}`]); // as if the process died after the manifest
    const b = await engine().snapshot(localDirSource(await workspace("crash-b", "b")));
    await engine().gc({ graceMs: 60_000 });
    const c = await engine().snapshot(localDirSource(await workspace("crash-c", "c")));
    // b stored node_modules again (correct, just not shared); after gc, c stores only own.txt.
    expect(c.uploadedBytes).toBeLessThan(b.uploadedBytes / 2);
    expect(c.uploadedObjects).toBe(3);
    expect((await engine().verify(c.checkpoint)).ok).toBe(true);
  });

  it("a stale entry whose pack is gone falls back to upload", async () => {
    await engine().snapshot(localDirSource(await workspace("stale-a", "a")));
    await engine().gc({ graceMs: 60_000 });
    await s3.objects.delete(await keysUnder("packs/")); // lost behind the index's back
    const dDir = await workspace("stale-d", "d");
    const d = await engine().snapshot(localDirSource(dDir));
    const out = await temp.make("stale-out");
    await engine().restore(d.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(dDir));
  });

  it("gc reads only the manifests written since the last gc, and keeps a pack a new checkpoint reused", async () => {
    const a = await engine().snapshot(localDirSource(await workspace("gc-a", "a")));
    const first = await engine().gc({ graceMs: 60_000 });
    expect(first.manifestReads).toBe(1);
    // Session a goes (retention); b, taken before the next gc, reused a's node_modules pack.
    const bDir = await workspace("gc-b", "b");
    const b = await engine().snapshot(localDirSource(bDir));
    await engine().remove(a.checkpoint);
    const second = await engine().gc({ graceMs: 0, now: Date.now() + 1000 });
    expect(second.manifestReads).toBe(1); // b only
    expect((await engine().verify(b.checkpoint)).ok).toBe(true);
    const out = await temp.make("gc-out");
    await engine().restore(b.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(bDir));
  });

  it("a published pack no manifest references waits a grace period after it was condemned", async () => {
    const a = await engine().snapshot(localDirSource(await workspace("cond-a", "only a")));
    await engine().gc({ graceMs: 60_000 });
    await engine().remove(a.checkpoint);
    const now = Date.now() + 120_000; // every object is past its own grace period
    const condemned = await engine().gc({ graceMs: 60_000, now });
    expect(condemned.deletedObjects).toBe(0);
    expect(await keysUnder("packs/")).not.toEqual([]);
    const later = await engine().gc({ graceMs: 60_000, now: now + 61_000 });
    expect(later.deletedObjects).toBeGreaterThan(0);
    expect(await keysUnder("packs/")).toEqual([]);
  });

  it("one garbage object under manifests/: list skips it, gc deletes nothing and names it", async () => {
    const a = await engine().snapshot(localDirSource(await workspace("bad-a", "a")));
    const bad = "cp_000000001" + "c".repeat(31);
    await s3.objects.put(`manifests/${bad}`, "garbage, not a manifest");
    const unreadable: string[] = [];
    const list = await engine().list({ onUnreadable: (id) => unreadable.push(id) });
    expect(list.map((c) => c.id)).toEqual([a.checkpoint]);
    expect(unreadable).toEqual([bad]);
    const before = await keysUnder("");
    const gc = await engine().gc({ graceMs: 0, now: Date.now() + 1000 });
    expect(gc.unreadable).toEqual([expect.stringContaining(bad)]);
    expect(await keysUnder("")).toEqual(before);
  });
});
