/**
 * What a delta checkpoint costs on a bench-sized workspace (issue 10 item 5): a generated tree of
 * 20,000 entries (200 dirs of 99 small files), the engine with its default settings. A 1-file
 * incremental must upload at most 64 KB plus the pack (and its index) that holds the file; with
 * full manifests it uploaded the whole manifest (about 1 MB here) every time. Reading and restoring
 * the tip of a 20-checkpoint chain are timed next to a full manifest of the same tree (printed,
 * not asserted: the machine is shared), alternating to spread the noise.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget } from "../../src/checkpoint/index";
import { decodeHeader, keys } from "../../src/checkpoint/repo/format";
import { checkpointFixture } from "./fixture";
import { noise, readTree } from "./tree";

const f = checkpointFixture();
const DIRS = 200;
const FILES_PER_DIR = 99;
const KB = 1024;

async function objectSizes(prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const item of f.s3.objects.list(prefix)) out.set(item.key, item.size);
  return out;
}

/** Bytes of the objects under `prefix` that were not there before. */
function added(before: Map<string, number>, after: Map<string, number>): number {
  let n = 0;
  for (const [key, size] of after) if (!before.has(key)) n += size;
  return n;
}

const ms = (t: number) => `${t.toFixed(0)} ms`;

describe("a delta on a 20,000-entry workspace", () => {
  it("uploads at most 64 KB plus the file's pack for a 1-file change, and restores the tip of a 20-delta chain", { timeout: 600_000 }, async () => {
    const engine = createCheckpointEngine({ objects: f.s3.objects });
    const src = await f.dir("delta-size");
    for (let d = 0; d < DIRS; d++) {
      const dir = path.join(src, `pkg${d}`);
      await mkdir(dir);
      await Promise.all(
        Array.from({ length: FILES_PER_DIR }, (_, i) =>
          writeFile(path.join(dir, `file-${i}.js`), `// package ${d}, module ${i}\nexport const value${i} = ${d * 1000 + i};\n`.repeat(4)),
        ),
      );
    }
    // Past the racy window: the next scans trust these files' mtimes, as in a workspace at rest.
    await sleep(2100);
    const full = await engine.snapshot(localDirSource(src));
    expect(full.files + full.dirs).toBe(DIRS * FILES_PER_DIR + DIRS);
    const fullManifest = (await f.s3.objects.head(keys.manifest(full.checkpoint)))!.size;

    let parent = full.checkpoint;
    const rows: string[] = [];
    for (let round = 1; round <= 20; round++) {
      const file = `pkg${round}/file-${round}.js`;
      await writeFile(path.join(src, file), noise(3000, round));
      const before = { packs: await objectSizes("packs/"), index: await objectSizes("index/") };
      // Round 1 as a plain incremental (stat scan), the others as continuous flush asks (change rows).
      const inc = await engine.snapshot(localDirSource(src), round === 1 ? { parent } : { parent, changedPaths: [file] });
      const filePack = added(before.packs, await objectSizes("packs/")) + added(before.index, await objectSizes("index/"));
      const manifest = (await f.s3.objects.head(keys.manifest(inc.checkpoint)))!.size;
      const header = decodeHeader(inc.checkpoint, await f.s3.objects.getBuffer(keys.manifest(inc.checkpoint), { start: 0, end: 4095 }));
      expect(header?.depth, `round ${round}`).toBe(round);
      expect(inc.uploadedBytes, `round ${round}: uploaded ${inc.uploadedBytes} B, file's pack + index ${filePack} B`).toBeLessThanOrEqual(64 * KB + filePack);
      if (round <= 2 || round === 20) rows.push(`round ${round}: uploaded ${inc.uploadedBytes} B in ${inc.uploadedObjects} objects (delta manifest ${manifest} B, file's pack + index ${filePack} B)`);
      parent = inc.checkpoint;
    }
    const tip = parent;

    // A full manifest of the same tree, for comparison (hashes reused from the tip: nothing re-read).
    const reference = await createCheckpointEngine({ objects: f.s3.objects, deltaChainMax: 0 }).snapshot(localDirSource(src), { parent: tip });
    const referenceManifest = (await f.s3.objects.head(keys.manifest(reference.checkpoint)))!.size;
    expect((await engine.readManifest(tip)).entries).toEqual((await engine.readManifest(reference.checkpoint)).entries);

    const readTimes = { tip: [] as number[], full: [] as number[] };
    for (let i = 0; i < 4; i++) {
      for (const [which, id] of (i % 2 === 0 ? [["tip", tip], ["full", reference.checkpoint]] : [["full", reference.checkpoint], ["tip", tip]]) as ["tip" | "full", string][]) {
        const t = performance.now();
        await engine.readManifest(id);
        readTimes[which].push(performance.now() - t);
      }
    }
    // Restores alternate (tip, full, full, tip, …): file creation on ext4 varies run to run.
    const restoreTimes = { tip: [] as number[], full: [] as number[] };
    let tipOut = "";
    const order = ["tip", "full", "full", "tip", "tip", "full"] as const;
    for (const [which, id] of order.map((w) => [w, w === "tip" ? tip : reference.checkpoint] as const)) {
      const out = await f.dir(`delta-size-${which}`);
      const t = performance.now();
      await engine.restore(id, localDirTarget(out));
      restoreTimes[which].push(performance.now() - t);
      if (which === "tip") tipOut = out;
    }
    expect(await readTree(tipOut)).toEqual(await readTree(src));

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      [
        `delta checkpoints on ${full.files + full.dirs} entries: full snapshot uploaded ${full.uploadedBytes} B (manifest ${fullManifest} B)`,
        ...rows,
        `full manifest of the tip's tree: ${referenceManifest} B`,
        `readManifest: tip of 20 deltas ${readTimes.tip.map(ms).join(", ")} (mean ${ms(mean(readTimes.tip))}); full ${readTimes.full.map(ms).join(", ")} (mean ${ms(mean(readTimes.full))})`,
        `restore: tip of 20 deltas ${restoreTimes.tip.map(ms).join(", ")} (mean ${ms(mean(restoreTimes.tip))}); full ${restoreTimes.full.map(ms).join(", ")} (mean ${ms(mean(restoreTimes.full))}); ratio ${(mean(restoreTimes.tip) / mean(restoreTimes.full)).toFixed(3)}`,
      ].join("\n"),
    );
  });
});
