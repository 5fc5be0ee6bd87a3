/**
 * Progress counts: the last event of a snapshot and of a restore accounts for every file and
 * byte, whatever path each file took (empty, small and packed, large and streamed, large and
 * already stored, reused from the parent).
 */
import { describe, expect, it } from "vitest";
import { localDirSource, localDirTarget } from "../../src/checkpoint/index";
import type { RestoreProgress, SnapshotProgress } from "../../src/checkpoint/types";
import { noise, writeTree } from "./tree";
import { checkpointFixture } from "./fixture";

const fx = checkpointFixture();
const dir = fx.dir;


const tree = {
  "empty.txt": "",
  "big/large.bin": noise(50_000, 3),
  ...Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`small/f${i}.txt`, `small file ${i}\n`.repeat(1 + (i % 7))])),
};

function expectComplete(last: SnapshotProgress | RestoreProgress | undefined, files: number) {
  expect(last).toBeDefined();
  expect(last!.filesTotal).toBe(files);
  expect(last!.filesDone).toBe(last!.filesTotal);
  expect(last!.bytesDone).toBe(last!.bytesTotal);
}

describe("progress", () => {
  it("a snapshot and its restore end with every file and byte counted", async () => {
    const src = await dir("progress-src");
    await writeTree(src, tree);
    const events: SnapshotProgress[] = [];
    const snap = await fx.engine.snapshot(localDirSource(src), { onProgress: (p) => events.push(p) });
    expect(snap.files).toBe(152);
    expectComplete(events.at(-1), 152);
    expect(events.at(-1)!.bytesTotal).toBe(snap.bytes);

    // The same content in another folder: the large file is hashed in place and found stored.
    const other = await dir("progress-other");
    await writeTree(other, tree);
    const again: SnapshotProgress[] = [];
    await fx.engine.snapshot(localDirSource(other), { onProgress: (p) => again.push(p) });
    expectComplete(again.at(-1), 152);

    // Incremental: reused files count as done.
    const incremental: SnapshotProgress[] = [];
    await fx.engine.snapshot(localDirSource(src), { parent: snap.checkpoint, onProgress: (p) => incremental.push(p) });
    expectComplete(incremental.at(-1), 152);

    const restored: RestoreProgress[] = [];
    await fx.engine.restore(snap.checkpoint, localDirTarget(await dir("progress-dst")), { onProgress: (p) => restored.push(p) });
    expectComplete(restored.at(-1), 152);
    expect(restored.at(-1)!.bytesTotal).toBe(snap.bytes);
  });
});
