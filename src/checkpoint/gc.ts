/**
 * Garbage collection: an object is garbage when no committed manifest references it (a pack via a
 * blob location, its index with it, a large blob by hash) and it is older than the grace period.
 * The grace period protects a snapshot being written right now: its packs are durable before its
 * manifest exists. A manifest that cannot be read stops gc (deleting on a partial view would lose
 * data).
 */
import type { ObjectInfo, ObjectStore } from "../objectstore/index";
import { Gate } from "./channel";
import type { Manifest } from "./format";
import type { GcResult } from "./types";

export async function collectGarbage(
  objects: ObjectStore,
  readManifest: (id: string) => Promise<Manifest>,
  options: { graceMs: number; now: number; concurrency: number },
): Promise<GcResult> {
  const started = performance.now();
  const listAll = async (prefix: string) => {
    const items: ObjectInfo[] = [];
    for await (const item of objects.list(prefix)) items.push(item);
    return items;
  };
  const manifests = await listAll("manifests/");
  const packs = new Set<string>();
  const blobs = new Set<string>();
  const gate = new Gate(options.concurrency);
  await Promise.all(
    manifests.map((m) =>
      gate.run(async () => {
        const manifest = await readManifest(m.key.slice("manifests/".length));
        for (const [hash, [pack]] of manifest.locations) {
          if (pack === "") blobs.add(hash);
          else packs.add(pack);
        }
      }),
    ),
  );

  const result: GcResult = { deletedObjects: 0, deletedBytes: 0, keptObjects: manifests.length, inGrace: 0, seconds: 0 };
  const doomed: string[] = [];
  const consider = (items: ObjectInfo[], prefix: string, referenced: Set<string>) => {
    for (const item of items) {
      if (referenced.has(item.key.slice(prefix.length))) result.keptObjects++;
      else if (options.now - item.lastModified < options.graceMs) result.inGrace++;
      else {
        doomed.push(item.key);
        result.deletedObjects++;
        result.deletedBytes += item.size;
      }
    }
  };
  // Indexes before their packs: a snapshot that lists indexes then finds no pack is the safer race.
  consider(await listAll("index/"), "index/", packs);
  consider(await listAll("packs/"), "packs/", packs);
  consider(await listAll("blobs/"), "blobs/", blobs);
  await objects.delete(doomed);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
