/**
 * CheckpointEngineOptions.keepCommits: false, what the one-shot CLI asks for. Such an engine keeps
 * no commit in memory (the next snapshot on it reads its parent from the store), and what it
 * writes is the same checkpoint a default engine writes. checkpointEngineFromConfig passes it on.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkpointEngineFromConfig } from "../../src/checkpoint/engine/from-config";
import { createCheckpointEngine, localDirSource, type CheckpointEngine } from "../../src/checkpoint/index";
import { loadConfig } from "../../src/core/config";
import type { ObjectStore } from "../../src/objectstore/types";
import { recordingGets, startTestS3, type TestS3 } from "../helpers/s3";
import { tempDirs, writeTree } from "./tree";

let s3: TestS3;
const temp = tempDirs();
/** Every GET's key, in order. */
const gets: string[] = [];
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

const manifestGets = () => gets.filter((k) => k.startsWith("manifests/") || k.startsWith("bases/"));

/** A snapshot, a 1-file change, a snapshot on it: the second's manifest GETs and its entries. */
async function twoSnapshots(engine: CheckpointEngine, label: string) {
  const dir = await temp.make(label);
  await writeTree(dir, { "src/a.ts": "alpha", "src/b.ts": "beta".repeat(300), "docs/readme.md": "hello", ln: { link: "src/a.ts" } });
  const first = await engine.snapshot(localDirSource(dir));
  await writeFile(path.join(dir, "src/a.ts"), "alpha 2");
  gets.length = 0;
  const second = await engine.snapshot(localDirSource(dir), { parent: first.checkpoint });
  const reads = manifestGets();
  const { entries } = await engine.readManifest(second.checkpoint);
  return { first, second, reads, entries: entries.map(({ mtimeMs: _mtime, ...rest }) => rest) };
}

describe("an engine that keeps no commit", () => {
  it("reads the parent of its next snapshot from the store, and writes what a default engine writes", async () => {
    const options = { objects: counted, smallFileBytes: 4096, packTargetBytes: 64 * 1024 };
    const oneShot = await twoSnapshots(createCheckpointEngine({ ...options, keepCommits: false }), "one-shot");
    expect(oneShot.reads).toEqual([`manifests/${oneShot.first.checkpoint}`]);
    const kept = await twoSnapshots(createCheckpointEngine(options), "kept");
    expect(kept.reads).toEqual([]);
    expect(oneShot.second.reusedFiles).toBe(kept.second.reusedFiles);
    expect(oneShot.second.uploadedObjects).toBe(kept.second.uploadedObjects);
    expect(oneShot.entries).toEqual(kept.entries);
  });

  it("is what checkpointEngineFromConfig builds when asked for it", async () => {
    const config = loadConfig({ TORPOR_DATA_DIR: await temp.make("data") });
    const { engine } = await checkpointEngineFromConfig(config.checkpoint, counted, { keepCommits: false });
    const { first, reads } = await twoSnapshots(engine, "from-config");
    expect(reads).toEqual([`manifests/${first.checkpoint}`]);
  });
});
