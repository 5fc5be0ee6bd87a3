/**
 * gc deletes only what no manifest references and only after the grace period; transient storage
 * failures (one request in ten) are retried so snapshot and restore still succeed.
 */
import { readdir, readlink } from "node:fs/promises";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget, type ManifestEntry } from "../../src/checkpoint/index";
import { StorageError } from "../../src/core/errors";
import type { ObjectStore } from "../../src/objectstore/types";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { noise, readTree, writeTree, tempDirs } from "./tree";

let s3: TestS3;
const temp = tempDirs();
const dir = (label: string) => temp.make(label);
async function count(prefix: string): Promise<number> {
  let n = 0;
  for await (const _ of s3.objects.list(prefix)) n++;
  return n;
}

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
  await temp.removeAll();
});

describe("gc", () => {
  it("keeps referenced and young objects, deletes the rest after the grace period", async () => {
    const engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 1024 });
    const keep = await dir("gc-keep");
    const drop = await dir("gc-drop");
    await writeTree(keep, { "shared.txt": "shared", "keep.txt": "keep", "keep.bin": noise(5000, 1) });
    await writeTree(drop, { "shared.txt": "shared", "drop.txt": "drop only", "drop.bin": noise(5000, 2) });
    const kept = await engine.snapshot(localDirSource(keep));
    const dropped = await engine.snapshot(localDirSource(drop));
    const before = { packs: await count("packs/"), blobs: await count("blobs/") };
    expect(before).toEqual({ packs: 2, blobs: 2 });

    await engine.remove(dropped.checkpoint);
    expect((await engine.list()).map((c) => c.id)).toEqual([kept.checkpoint]);
    const young = await engine.gc({ graceMs: 60 * 60 * 1000 });
    expect(young.deletedObjects).toBe(0);
    expect(young.inGrace).toBe(3); // drop's pack, its index, drop.bin

    const old = await engine.gc({ graceMs: 0, now: Date.now() + 1000 });
    expect(old.deletedObjects).toBe(3);
    expect({ packs: await count("packs/"), blobs: await count("blobs/"), index: await count("index/") }).toEqual({ packs: 1, blobs: 1, index: 1 });
    expect((await engine.verify(kept.checkpoint)).ok).toBe(true);
    const out = await dir("gc-out");
    await engine.restore(kept.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(keep));
  });
});

/** Fails about one call in ten with a transient error, deterministically. */
function flaky(inner: ObjectStore): { store: ObjectStore; state: { failures: number } } {
  let seed = 42;
  const state = { failures: 0 };
  const maybeFail = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    if ((seed >>> 16) % 10 === 0) {
      state.failures++;
      throw new StorageError("STORAGE_TRANSIENT", "injected fault");
    }
  };
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      maybeFail();
      return fn(...args);
    };
  return {
    state,
    store: {
      description: inner.description,
      put: wrap(inner.put.bind(inner)),
      getBuffer: wrap(inner.getBuffer.bind(inner)),
      getStream: wrap(inner.getStream.bind(inner)),
      head: wrap(inner.head.bind(inner)),
      async *list(prefix: string) {
        maybeFail();
        yield* inner.list(prefix);
      },
      delete: wrap(inner.delete.bind(inner)),
      check: wrap(inner.check.bind(inner)),
    },
  };
}

describe("transient storage faults", () => {
  it("snapshot, verify and restore succeed when one request in ten fails transiently", async () => {
    const { store, state } = flaky(s3.objects);
    const engine = createCheckpointEngine({ objects: store, smallFileBytes: 2048, packTargetBytes: 16 * 1024 });
    const src = await dir("faults");
    await writeTree(src, {
      ...Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`f/${i}.txt`, `${i} `.repeat(300)])),
      "a.bin": noise(20_000, 9),
      "b.bin": noise(30_000, 10),
    });
    const snap = await engine.snapshot(localDirSource(src));
    expect((await engine.verify(snap.checkpoint)).ok).toBe(true);
    const out = await dir("faults-out");
    await engine.restore(snap.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(src));
    expect(state.failures).toBeGreaterThan(0);
  });
});

describe("a download that breaks", () => {
  it("fails the restore of a large blob with a transient storage error, and leaves no file open", async () => {
    const engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 2048 });
    const src = await dir("break");
    await writeTree(src, { "small.txt": "small", "big.bin": noise(3_000_000, 11) });
    const snap = await engine.snapshot(localDirSource(src));
    // A large blob's first 1.5 MB arrive (its file is open and being written), then an error, as
    // from a dropped connection.
    const breaking: ObjectStore = {
      ...s3.objects,
      async getStream(key) {
        if (!key.startsWith("blobs/")) return s3.objects.getStream(key);
        const whole = await s3.objects.getBuffer(key);
        return Readable.from(
          (async function* () {
            for (let at = 0; at < 1_500_000; at += 100_000) yield whole.subarray(at, at + 100_000);
            throw new Error("connection reset");
          })(),
        );
      },
    };
    const out = await dir("break-out");
    /** Files under `out` that this process holds open. */
    const openUnderOut = async () => {
      const targets = await Promise.all((await readdir("/proc/self/fd")).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")));
      return targets.filter((t) => t.startsWith(out));
    };
    const error = await createCheckpointEngine({ objects: breaking })
      .restore(snap.checkpoint, localDirTarget(out))
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe("STORAGE_TRANSIENT");
    expect(await readdir(out)).toContain("big.bin"); // it was being written
    expect(await openUnderOut()).toEqual([]);
    // Run again on a whole connection, into a fresh folder: complete and verified.
    const again = await dir("break-again");
    await engine.restore(snap.checkpoint, localDirTarget(again));
    expect(await readTree(again)).toEqual(await readTree(src));
  });
});

describe("a download that breaks while the target is busy", () => {
  it("fails the restore with the storage error instead of ending the process", async () => {
    const engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 2048 });
    const src = await dir("busy");
    // Enough small files to fill the restore's queue while the target is busy, so that the large
    // blob's push waits for room while its download breaks.
    await writeTree(src, { ...Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`f/${i}.txt`, `file ${i}`])), "big.bin": noise(300_000, 12) });
    const snap = await engine.snapshot(localDirSource(src));
    const breaking: ObjectStore = {
      ...s3.objects,
      async getStream(key) {
        if (!key.startsWith("blobs/")) return s3.objects.getStream(key);
        // Answers once the small files have filled the queue, then breaks while the push waits.
        await new Promise((r) => setTimeout(r, 300));
        const stream = new PassThrough();
        stream.write(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
        setTimeout(() => stream.destroy(new Error("connection reset")), 100);
        return stream;
      },
    };
    // A target without a packed writer that starts reading only after the download has broken.
    const out = await dir("busy-out");
    const inner = localDirTarget(out);
    const slow = {
      prepare: inner.prepare.bind(inner),
      hashFiles: inner.hashFiles.bind(inner),
      write: async (entries: AsyncIterable<{ entry: ManifestEntry; content?: Readable }>) => {
        await new Promise((r) => setTimeout(r, 800));
        await inner.write(entries);
      },
    };
    const error = await createCheckpointEngine({ objects: breaking })
      .restore(snap.checkpoint, slow)
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
  });
});

describe("damaged pack indexes", () => {
  it("a snapshot skips an unreadable index and stores those blobs again", async () => {
    const engine = createCheckpointEngine({ objects: s3.objects });
    const one = await dir("idx-one");
    await writeTree(one, { "a.txt": "shared content a", "b.txt": "shared content b" });
    await engine.snapshot(localDirSource(one));
    for await (const item of s3.objects.list("index/")) await s3.objects.put(item.key, "not an index");
    for await (const item of s3.objects.list("dedup/")) await s3.objects.put(item.key, "not an index");
    const two = await dir("idx-two");
    await writeTree(two, { "a.txt": "shared content a", "b.txt": "shared content b" });
    const snap = await engine.snapshot(localDirSource(two));
    expect(snap.uploadedObjects).toBe(3); // a new pack, its index, the manifest
    const out = await dir("idx-out");
    await engine.restore(snap.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(two));
  });
});
