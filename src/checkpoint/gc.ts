/**
 * Garbage collection: an object is garbage when no kept manifest references it (a pack via a
 * blob location, its index with it, a large blob by hash) and it is older than the grace period.
 * The grace period protects a snapshot being written right now: its packs are durable before its
 * manifest exists. A manifest that cannot be read stops gc (deleting on a partial view would lose
 * data).
 *
 * Kept manifests are every checkpoint (manifests/), the base of every delta among them (in
 * manifests/, or in bases/ once removed), and bases/ still in their grace period. Each object is
 * read once: what a delta references is a subset of its own locations and its base's, so gc keeps
 * that union (a blob the delta dropped stays until the base goes). A base no kept delta names is
 * deleted, and so is a child marker (children/<base>/<delta>) whose delta is gone.
 */
import type { ObjectInfo, ObjectStore } from "../objectstore/index";
import { Gate } from "./channel";
import { corrupt } from "./format";
import { readStored } from "./manifest-chain";
import type { GcResult } from "./types";

export async function collectGarbage(objects: ObjectStore, options: { graceMs: number; now: number; concurrency: number }): Promise<GcResult> {
  const started = performance.now();
  const listAll = async (prefix: string) => {
    const items: ObjectInfo[] = [];
    for await (const item of objects.list(prefix)) items.push(item);
    return items;
  };
  const young = (item: ObjectInfo) => options.now - item.lastModified < options.graceMs;
  const manifests = await listAll("manifests/");
  const bases = await listAll("bases/");
  const children = await listAll("children/");
  const packs = new Set<string>();
  const blobs = new Set<string>();
  const gate = new Gate(options.concurrency);

  // Checkpoints first, then the bases their deltas name; each manifest object is read once.
  const reached = new Set<string>();
  const roots = [...manifests.map((m) => m.key.slice("manifests/".length)), ...bases.filter(young).map((b) => b.key.slice("bases/".length))];
  let wave = roots.map((id) => ({ id, root: true }));
  while (wave.length > 0) {
    const next: { id: string; root: boolean }[] = [];
    await Promise.all(
      wave
        .filter(({ id }) => !reached.has(id) && reached.add(id))
        .map(({ id, root }) =>
          gate.run(async () => {
            const found = await readStored(objects, id, true);
            // A listed checkpoint removed since is simply gone; a kept delta's missing base is damage.
            if (!found && root) return;
            if (!found) corrupt(id, "the base of a kept delta is missing");
            const manifest = found.stored.kind === "full" ? found.stored.manifest : found.stored.delta;
            for (const [hash, [pack]] of manifest.locations) {
              if (pack === "") blobs.add(hash);
              else packs.add(pack);
            }
            if (found.stored.kind === "delta") next.push({ id: found.stored.delta.header.base!, root: false });
          }),
        ),
    );
    wave = next;
  }

  const result: GcResult = { deletedObjects: 0, deletedBytes: 0, keptObjects: manifests.length, inGrace: 0, seconds: 0 };
  const doomed: string[] = [];
  const consider = (items: ObjectInfo[], name: (key: string) => string, referenced: Set<string>) => {
    for (const item of items) {
      if (referenced.has(name(item.key))) result.keptObjects++;
      else if (young(item)) result.inGrace++;
      else {
        doomed.push(item.key);
        result.deletedObjects++;
        result.deletedBytes += item.size;
      }
    }
  };
  // A marker lives as long as its child (children/<parent>/<child>).
  consider(children, (key) => key.slice(key.lastIndexOf("/") + 1), reached);
  consider(bases, (key) => key.slice("bases/".length), reached);
  // Indexes before their packs: a snapshot that lists indexes then finds no pack is the safer race.
  consider(await listAll("index/"), (key) => key.slice("index/".length), packs);
  consider(await listAll("packs/"), (key) => key.slice("packs/".length), packs);
  consider(await listAll("blobs/"), (key) => key.slice("blobs/".length), blobs);
  await objects.delete(doomed);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
