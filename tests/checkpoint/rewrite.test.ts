/**
 * SnapshotOptions.rewrite: a snapshot that trusts nothing already stored. An ordinary incremental
 * snapshot on a parent with a damaged pack and a damaged large blob reuses both (the gap this
 * option closes); a rewrite snapshot reads every file again, stores it again, verifies cleanly,
 * restores byte for byte, and replaces the damaged large blob object with correct bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget } from "../../src/checkpoint/index";
import { keys, sha256 } from "../../src/checkpoint/repo/format";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { noise, readTree, writeTree, tempDirs } from "./tree";

let s3: TestS3;
const temp = tempDirs();
const dir = (label: string) => temp.make(label);

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
  await temp.removeAll();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const item of s3.objects.list(prefix)) out.push(item.key);
  return out;
}

/** Flips a few bytes in the middle of an object, or cuts off its second half. */
async function damage(key: string, how: "flip" | "truncate"): Promise<void> {
  const original = Buffer.from(await s3.objects.getBuffer(key));
  const damaged = Buffer.from(how === "truncate" ? original.subarray(0, Math.floor(original.length / 2)) : original);
  const at = Math.floor(damaged.length / 2);
  if (how === "flip") for (let i = at; i < Math.min(at + 4, damaged.length); i++) damaged[i] = damaged[i]! ^ 0x5a;
  await s3.objects.put(key, damaged);
}

describe("a rewrite snapshot", () => {
  it("stores everything again on a parent with a damaged pack and large blob: verifies, restores, and repairs the blob", async () => {
    const engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 1024 });
    const src = await dir("rewrite-src");
    const big = noise(20_000, 7);
    await writeTree(src, {
      "a.txt": "alpha\n",
      "sub/b.txt": "bravo\n",
      "run.sh": { content: "#!/bin/sh\necho hi\n", mode: 0o755 },
      "big.bin": big,
      "empty.txt": "",
      link: { link: "a.txt" },
    });
    const parent = await engine.snapshot(localDirSource(src));
    const packs = await keysUnder("packs/");
    expect(packs).toHaveLength(1);
    await damage(packs[0]!, "flip");
    await damage(keys.blob(sha256(big)), "truncate");
    expect((await engine.verify(parent.checkpoint)).ok).toBe(false);

    // The gap: an incremental snapshot of the unchanged tree reuses the damaged objects.
    const incremental = await engine.snapshot(localDirSource(src), { parent: parent.checkpoint });
    expect(incremental.reusedFiles).toBeGreaterThan(0);
    expect((await engine.verify(incremental.checkpoint)).ok).toBe(false);

    const healed = await engine.snapshot(localDirSource(src), { parent: parent.checkpoint, rewrite: true });
    expect(healed).toMatchObject({ parent: parent.checkpoint, reusedFiles: 0 });
    expect(healed.uploadedObjects).toBeGreaterThanOrEqual(4); // a pack, its index, the large blob, the manifest
    const verified = await engine.verify(healed.checkpoint);
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);

    const out = await dir("rewrite-out");
    await engine.restore(healed.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(src));

    // blobs/<hash> was PUT again: the object every checkpoint naming that content reads is correct now.
    const parentAfter = await engine.verify(parent.checkpoint);
    expect(parentAfter.problems.map((p) => p.path)).not.toContain("big.bin");
  });

  it("does not read the parent at all: a missing parent manifest does not stop it", async () => {
    const engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 1024 });
    const src = await dir("rewrite-nomanifest");
    await writeTree(src, { "x.txt": "x\n", "y.bin": noise(4000, 3) });
    const parent = await engine.snapshot(localDirSource(src));
    await s3.objects.delete([keys.manifest(parent.checkpoint)]);
    await expect(engine.snapshot(localDirSource(src), { parent: parent.checkpoint })).rejects.toThrow();

    const healed = await engine.snapshot(localDirSource(src), { parent: parent.checkpoint, rewrite: true });
    expect(healed.parent).toBe(parent.checkpoint);
    expect((await engine.verify(healed.checkpoint)).ok).toBe(true);
    const out = await dir("rewrite-nomanifest-out");
    await engine.restore(healed.checkpoint, localDirTarget(out));
    expect(await readTree(out)).toEqual(await readTree(src));
  });
});
