/**
 * Garbage collection: an object is garbage when no kept manifest references it (a pack via a
 * blob location, its index with it, a large blob by hash) and it is older than the grace period.
 * The grace period protects a snapshot being written right now: its packs are durable before its
 * manifest exists. A manifest that cannot be read stops gc before it deletes anything (deleting
 * on a partial view would lose data): the result names it in `unreadable`, gc does not throw.
 *
 * Kept manifests are every checkpoint (manifests/), the base of every delta among them (in
 * manifests/, or in bases/ once removed), and bases/ still in their grace period. What a delta
 * references is a subset of its own locations and its base's, so gc keeps that union (a blob the
 * delta dropped stays until the base goes). A base no kept delta names is deleted, and so is a
 * child marker (children/<base>/<delta>) whose delta is gone.
 *
 * Cost follows what changed: `gc/state` (gc-state.ts) keeps each manifest's referenced packs and
 * blobs (manifest objects never change: their id is their hash), so a gc reads only the
 * manifests written since the last one (a gc after one new checkpoint reads one), plus the LIST
 * pages of the bucket. It then writes the next dedup generation (dedup-index.ts): the previous
 * one and the commit logs, merged with the new manifests' locations, restricted to referenced
 * packs. A pack that was ever published in the dedup index is deleted only once it has been
 * unreferenced ("condemned") for the grace period: a snapshot that read an older generation and
 * reuses it is committed by then, and its manifest keeps the pack.
 */
import { IntegrityError, isTorporError } from "../../core/errors";
import type { ObjectInfo, ObjectStore } from "../../objectstore/types";
import { Gate } from "../channel";
import { dedupKeys, encodeDedup, generationName, listDedup, readDedup } from "./dedup-index";
import type { BlobLocation } from "./format";
import { type GcManifestRefs, readGcState, writeGcState } from "./gc-state";
import { readStored } from "./manifest-chain";
import type { GcResult } from "../types";

export async function collectGarbage(objects: ObjectStore, options: { graceMs: number; now: number; concurrency: number }): Promise<GcResult> {
  const started = performance.now();
  const listAll = async (prefix: string) => {
    const items: ObjectInfo[] = [];
    for await (const item of objects.list(prefix)) items.push(item);
    return items;
  };
  const young = (item: ObjectInfo) => options.now - item.lastModified < options.graceMs;
  const state = await readGcState(objects);
  // Logs listed before the manifests: each names a manifest written before it, so listed too.
  const dedup = await listDedup(objects);
  const manifests = await listAll("manifests/");
  const bases = await listAll("bases/");
  const children = await listAll("children/");
  const gate = new Gate(options.concurrency);
  const result: GcResult = { deletedObjects: 0, deletedBytes: 0, keptObjects: manifests.length, inGrace: 0, seconds: 0, manifestReads: 0, unreadable: [] };

  // The previous generation: without it the cache cannot rebuild the dedup index, so start over.
  const previous = dedup.generations[0] ? await readDedup(objects, dedupKeys.generation(dedup.generations[0])) : null;
  const cache = previous ? state.manifests : new Map<string, GcManifestRefs>();
  const fresh = new Map<string, BlobLocation>();

  // Checkpoints first, then the bases their deltas name; each manifest object is read once.
  const refs = new Map<string, GcManifestRefs>();
  const roots = [...manifests.map((m) => m.key.slice("manifests/".length)), ...bases.filter(young).map((b) => b.key.slice("bases/".length))];
  let wave = roots.map((id) => ({ id, root: true }));
  while (wave.length > 0) {
    const next: { id: string; root: boolean }[] = [];
    await Promise.all(
      wave
        .filter(({ id }) => !refs.has(id))
        .map(({ id, root }) =>
          gate.run(async () => {
            let found = cache.get(id);
            if (!found) {
              result.manifestReads!++;
              let read: Awaited<ReturnType<typeof readStored>>;
              try {
                read = await readStored(objects, id, true);
              } catch (error) {
                // Not ours, damaged or not a checkpoint id: never delete on that partial view.
                if (error instanceof IntegrityError || isTorporError(error, "NOT_FOUND")) {
                  result.unreadable!.push(`${id}: ${(error as Error).message}`);
                  return;
                }
                throw error;
              }
              // A listed checkpoint removed since is simply gone; a kept delta's missing base is damage.
              if (!read && root) return;
              if (!read) {
                result.unreadable!.push(`${id}: the base of a kept delta is missing`);
                return;
              }
              const manifest = read.stored.kind === "full" ? read.stored.manifest : read.stored.delta;
              found = { packs: new Set(), blobs: new Set(), base: read.stored.kind === "delta" ? read.stored.delta.header.base! : null };
              for (const [hash, loc] of manifest.locations) {
                if (loc[0] === "") found.blobs.add(hash);
                else {
                  found.packs.add(loc[0]);
                  fresh.set(hash, loc);
                }
              }
            }
            if (refs.has(id)) return;
            refs.set(id, found);
            if (found.base) next.push({ id: found.base, root: false });
          }),
        ),
    );
    wave = next;
  }
  if (result.unreadable!.length > 0) {
    // Stop safely: nothing deleted, nothing cached, the damage named for the caller.
    result.seconds = (performance.now() - started) / 1000;
    return result;
  }
  const packs = new Set<string>();
  const blobs = new Set<string>();
  for (const r of refs.values()) {
    for (const p of r.packs) packs.add(p);
    for (const b of r.blobs) blobs.add(b);
  }

  // The next generation: everything published so far and the new manifests, referenced packs only.
  const logs = await Promise.all(dedup.logs.map((id) => gate.run(() => readDedup(objects, dedupKeys.log(id)))));
  const published = new Set<string>();
  const generation = new Map<string, BlobLocation>();
  for (const part of [fresh, ...logs, previous]) {
    for (const [hash, loc] of part ?? []) {
      if (part !== fresh) published.add(loc[0]);
      if (packs.has(loc[0]) && !generation.has(hash)) generation.set(hash, loc);
    }
  }

  // A published pack waits a grace period after it first was found unreferenced.
  const condemned = new Map<string, number>();
  for (const [pack, at] of state.condemned) if (!packs.has(pack)) condemned.set(pack, at);
  for (const pack of published) if (!packs.has(pack) && !condemned.has(pack)) condemned.set(pack, options.now);
  const mayDelete = (pack: string) => {
    const at = condemned.get(pack);
    return at === undefined || options.now - at >= options.graceMs;
  };

  const doomed: string[] = [];
  const consider = (items: ObjectInfo[], name: (key: string) => string, referenced: Set<string>, ready: (name: string) => boolean = () => true) => {
    for (const item of items) {
      const id = name(item.key);
      if (referenced.has(id)) result.keptObjects++;
      else if (young(item) || !ready(id)) result.inGrace++;
      else {
        doomed.push(item.key);
        result.deletedObjects++;
        result.deletedBytes += item.size;
      }
    }
  };
  // A marker lives as long as its child (children/<parent>/<child>).
  const reached = new Set(refs.keys());
  consider(children, (key) => key.slice(key.lastIndexOf("/") + 1), reached);
  consider(bases, (key) => key.slice("bases/".length), reached);
  // Indexes before their packs: a snapshot that lists indexes then finds no pack is the safer race.
  consider(await listAll("index/"), (key) => key.slice("index/".length), packs, mayDelete);
  const packItems = await listAll("packs/");
  consider(packItems, (key) => key.slice("packs/".length), packs, mayDelete);
  consider(await listAll("blobs/"), (key) => key.slice("blobs/".length), blobs);
  // Forgotten once deleted (or gone anyway): the state stays the size of what is waiting.
  const left = new Set(packItems.map((p) => p.key));
  for (const key of doomed) left.delete(key);
  for (const pack of [...condemned.keys()]) if (!left.has(`packs/${pack}`)) condemned.delete(pack);

  // The new generation first, then the old ones and the folded logs go: a reader always finds one.
  const name = generationName(options.now);
  await objects.put(dedupKeys.generation(name), encodeDedup(generation));
  await objects.delete([...dedup.generations.map(dedupKeys.generation), ...dedup.logs.map(dedupKeys.log)]);
  await writeGcState(objects, { manifests: refs, condemned });
  await objects.delete(doomed);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
