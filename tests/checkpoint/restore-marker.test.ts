// A failed restore into a folder never looks like a good one, and running it again finishes it
// (issue 14: 300 correct files and no marker were left; the retry was refused as "not empty").
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget } from "../../src/checkpoint/index";
import { RESTORE_MARKER } from "../../src/checkpoint/local/target";
import type { ObjectStore } from "../../src/objectstore/types";
import { checkpointFixture } from "./fixture";
import { readTree, writeTree } from "./tree";

const fx = checkpointFixture();

describe("restore marker", () => {
  it("stays in a folder whose restore failed; the same restore again finishes it and removes it", async () => {
    const src = await fx.dir("marker-src");
    const spec: Record<string, string | Buffer> = { "big.bin": Buffer.alloc(3_000_000, 7) };
    for (let i = 0; i < 50; i++) spec[`src/f${i}.txt`] = `file ${i}\n`.repeat(20);
    await writeTree(src, spec);
    const engine = createCheckpointEngine({ objects: fx.s3.objects, smallFileBytes: 2048 });
    const snap = await engine.snapshot(localDirSource(src));
    const breaking: ObjectStore = {
      ...fx.s3.objects,
      async getStream(key, range) {
        if (!key.startsWith("blobs/")) return fx.s3.objects.getStream(key, range);
        const whole = await fx.s3.objects.getBuffer(key);
        return Readable.from(
          (async function* () {
            yield whole.subarray(0, 100_000);
            throw new Error("connection reset");
          })(),
        );
      },
    };
    const out = await fx.dir("marker-out");
    await expect(createCheckpointEngine({ objects: breaking, smallFileBytes: 2048 }).restore(snap.checkpoint, localDirTarget(out))).rejects.toThrow();
    const left = await readdir(out);
    expect(left).toContain(RESTORE_MARKER);
    expect(await readFile(path.join(out, RESTORE_MARKER), "utf8")).toMatch(/has not finished/);

    // Not refused as "not empty": the marker says the folder holds our own partial work.
    await engine.restore(snap.checkpoint, localDirTarget(out));
    expect(await readdir(out)).not.toContain(RESTORE_MARKER);
    expect(await readTree(out)).toEqual(await readTree(src));
  });

  it("still refuses a non-empty folder without the marker", async () => {
    const src = await fx.dir("marker-src2");
    await writeTree(src, { "a.txt": "a" });
    const snap = await fx.engine.snapshot(localDirSource(src));
    const out = await fx.dir("marker-user");
    await writeTree(out, { "mine.txt": "user's file" });
    await expect(fx.engine.restore(snap.checkpoint, localDirTarget(out))).rejects.toThrow(/not empty/);
    expect(await readdir(out)).toEqual(["mine.txt"]);
  });
});
