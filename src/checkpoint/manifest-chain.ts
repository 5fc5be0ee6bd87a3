/**
 * Manifest chains. A delta manifest (format.ts) holds only what changed since its parent; reading
 * a checkpoint resolves its chain down to a full manifest, so every reader (restore, verify,
 * readManifest, gc, compare) sees one whole manifest, checked as a full one would be. A snapshot
 * writes a delta when the chain has room (at most `chainMax` deltas, and no more delta bytes in
 * the chain than a quarter of the base, with a floor: reading the chain must stay cheap next to
 * reading the base), and a full manifest otherwise: that is the compaction.
 *
 * Removing a checkpoint must not break a chain that runs through it. Every delta is announced by
 * an empty marker `children/<parent id>/<child id>`, written before the delta itself; removing a
 * checkpoint that has a marker moves its manifest to `bases/<id>` (same bytes, same id check)
 * instead of deleting it. gc keeps a base as long as a kept chain reaches it.
 */
import { NotFoundError, StorageError } from "../core/errors";
import type { ObjectStore } from "../objectstore/index";
import {
  type BlobLocation,
  corrupt,
  decodeStoredManifest,
  EMPTY_HASH,
  encodeDelta,
  encodeManifest,
  isCheckpointId,
  keys,
  type Manifest,
  type ManifestDelta,
  MAX_MANIFEST_ENTRIES,
  MAX_MANIFEST_OBJECT_BYTES,
  type StoredManifest,
} from "./format";
import { byPath } from "./paths";
import type { ManifestEntry } from "./types";

/** The longest chain a reader follows; the setting (TORPOR_DELTA_CHAIN_MAX) stays below it. */
export const MAX_CHAIN_DEPTH = 128;
/** Delta bytes a chain may hold at least, whatever the size of its base. */
const MIN_CHAIN_BYTES = 64 * 1024;

export const childKey = (parent: string, child: string) => `children/${parent}/${child}`;
export const childPrefix = (parent: string) => `children/${parent}/`;

/** A checkpoint's manifest with its chain resolved, and what the chain costs to read. */
export interface ResolvedManifest extends Manifest {
  chain: {
    /** Deltas read on top of the base (0: the checkpoint is a full manifest). */
    depth: number;
    /** Stored bytes of those deltas. */
    deltaBytes: number;
    /** Stored bytes of the full base. */
    baseBytes: number;
  };
}

const notFound = (error: unknown) => error instanceof StorageError && error.code === "NOT_FOUND";

/** One manifest object, or null when absent. At most MAX_MANIFEST_OBJECT_BYTES are read. */
async function getObject(objects: ObjectStore, key: string): Promise<Buffer | null> {
  try {
    return await objects.getBuffer(key, { start: 0, end: MAX_MANIFEST_OBJECT_BYTES });
  } catch (error) {
    if (notFound(error)) return null;
    throw error;
  }
}

/**
 * Reads one manifest object as stored. `retired: true` also looks in bases/ (a chain link whose
 * checkpoint was removed); a checkpoint itself is only what manifests/ holds.
 */
export async function readStored(
  objects: ObjectStore,
  id: string,
  retired: boolean,
): Promise<{ stored: StoredManifest; bytes: number; body: Buffer } | null> {
  if (!isCheckpointId(id)) throw new NotFoundError(`No checkpoint '${id}' (not a checkpoint id)`, { details: { checkpoint: id } });
  const body = (await getObject(objects, keys.manifest(id))) ?? (retired ? await getObject(objects, keys.base(id)) : null);
  if (!body) return null;
  return { stored: decodeStoredManifest(id, body), bytes: body.length, body };
}

/** Reads checkpoint `id` and every link of its chain, and applies the deltas to the base. */
export async function resolveManifest(objects: ObjectStore, id: string): Promise<ResolvedManifest> {
  const top = await readStored(objects, id, false);
  if (!top) throw new NotFoundError(`No checkpoint '${id}' in ${objects.description}`, { details: { checkpoint: id } });
  const deltas: { id: string; delta: ManifestDelta }[] = [];
  let deltaBytes = 0;
  let link = top;
  let linkId = id;
  while (link.stored.kind === "delta") {
    const delta = link.stored.delta;
    const depth = delta.header.depth!;
    if (deltas.length === 0 && depth > MAX_CHAIN_DEPTH) corrupt(linkId, `a chain of ${depth} deltas (at most ${MAX_CHAIN_DEPTH})`);
    deltas.push({ id: linkId, delta });
    deltaBytes += link.bytes;
    const parentId = delta.header.parent!;
    const parent = await readStored(objects, parentId, true);
    if (!parent) corrupt(linkId, `its parent ${parentId} is missing: the chain is broken`);
    const parentDepth = parent.stored.kind === "delta" ? parent.stored.delta.header.depth! : 0;
    // Depths fall by one down the chain: that bounds the reads and rules out a loop.
    if (parentDepth !== depth - 1) corrupt(linkId, `depth ${depth} on a parent of depth ${parentDepth}`);
    link = parent;
    linkId = parentId;
  }
  const base = link.stored.manifest;
  const chain = { depth: deltas.length, deltaBytes, baseBytes: link.bytes };
  if (deltas.length === 0) return { ...base, chain };

  const byPathMap = new Map<string, ManifestEntry>();
  for (const e of base.entries) {
    // A duplicate would vanish in the map and never reach assertRestorable: refused here.
    if (byPathMap.has(e.path)) corrupt(linkId, `'${e.path}' listed twice`);
    byPathMap.set(e.path, e);
  }
  const locations = new Map(base.locations);
  for (const { id: deltaId, delta } of deltas.reverse()) {
    const touched = new Set<string>();
    for (const path of delta.deleted) {
      if (touched.has(path)) corrupt(deltaId, `'${path}' deleted twice`);
      touched.add(path);
      if (!byPathMap.delete(path)) corrupt(deltaId, `deletes '${path}', which its parent does not hold`);
    }
    for (const e of delta.entries) {
      if (touched.has(e.path)) corrupt(deltaId, `'${e.path}' listed twice`);
      touched.add(e.path);
      byPathMap.set(e.path, e);
    }
    for (const [hash, loc] of delta.locations) locations.set(hash, loc);
    if (byPathMap.size > MAX_MANIFEST_ENTRIES) corrupt(deltaId, `more than ${MAX_MANIFEST_ENTRIES} entries once resolved`);
  }
  const entries = [...byPathMap.values()].sort(byPath);
  // Only the locations the resolved entries name: gc and restore must not see a deleted file's blob.
  const used = new Map<string, BlobLocation>();
  const counts = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  for (const e of entries) {
    if (e.type === "dir") counts.dirs++;
    else if (e.type === "symlink") counts.symlinks++;
    else {
      counts.files++;
      counts.bytes += e.size;
      const loc = e.hash === EMPTY_HASH ? undefined : locations.get(e.hash!);
      if (loc) used.set(e.hash!, loc);
    }
  }
  const header = top.stored.kind === "delta" ? top.stored.delta.header : base.header;
  if (counts.files !== header.files || counts.dirs !== header.dirs || counts.symlinks !== header.symlinks || counts.bytes !== header.bytes) {
    corrupt(id, "the resolved chain does not match the counts of its header");
  }
  return { header, entries, locations: used, chain };
}

function sameLocation(a: BlobLocation | undefined, b: BlobLocation | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.every((v, i) => v === b[i]));
}

function sameEntry(a: ManifestEntry, b: ManifestEntry, la: Map<string, BlobLocation>, lb: Map<string, BlobLocation>): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.size !== b.size || a.mtimeMs !== b.mtimeMs) return false;
  if (a.type === "symlink") return a.target === b.target;
  if (a.type === "dir") return true;
  return a.hash === b.hash && (a.hash === EMPTY_HASH || sameLocation(la.get(a.hash!), lb.get(b.hash!)));
}

export interface EncodedCheckpoint {
  id: string;
  body: Buffer;
  /** The parent this delta is written on (its marker must be durable before the body); null: a full manifest. */
  deltaOf: string | null;
}

/**
 * Encodes a new checkpoint: a delta on `parent` when the chain has room, else a full manifest.
 * `manifest.entries` must be sorted by path and `manifest.header.parent` must name `parent`.
 */
export function encodeCheckpoint(manifest: Manifest, parent: ResolvedManifest | undefined, chainMax: number): EncodedCheckpoint {
  const full = () => ({ ...encodeManifest(manifest), deltaOf: null });
  const parentId = manifest.header.parent;
  if (!parent || !parentId || chainMax <= 0 || parent.chain.depth + 1 > Math.min(chainMax, MAX_CHAIN_DEPTH)) return full();
  const before = new Map(parent.entries.map((e) => [e.path, e]));
  const changed: ManifestEntry[] = [];
  for (const e of manifest.entries) {
    const old = before.get(e.path);
    before.delete(e.path);
    if (!old || !sameEntry(old, e, parent.locations, manifest.locations)) changed.push(e);
  }
  const deleted = [...before.keys()];
  const locations = new Map<string, BlobLocation>();
  for (const e of changed) {
    const loc = e.type === "file" ? manifest.locations.get(e.hash!) : undefined;
    if (loc) locations.set(e.hash!, loc);
  }
  const delta = encodeDelta({ header: { ...manifest.header, depth: parent.chain.depth + 1 }, entries: changed, deleted, locations });
  const limit = Math.max(MIN_CHAIN_BYTES, parent.chain.baseBytes / 4);
  if (parent.chain.deltaBytes + delta.body.length > limit) return full();
  return { ...delta, deltaOf: parentId };
}

/**
 * Removes checkpoint `id`: its manifest is deleted, or, when a delta was written on it, moved to
 * bases/ so that the delta's chain still reads. A removed delta's own marker goes with it.
 */
export async function removeCheckpoint(objects: ObjectStore, id: string): Promise<void> {
  const found = await readStored(objects, id, false);
  if (!found) throw new NotFoundError(`No checkpoint '${id}' in ${objects.description}`, { details: { checkpoint: id } });
  let hasChildren = false;
  for await (const _ of objects.list(childPrefix(id))) {
    hasChildren = true;
    break;
  }
  if (hasChildren) {
    await objects.put(keys.base(id), found.body);
    await objects.delete([keys.manifest(id)]);
    return;
  }
  await objects.delete([keys.manifest(id)]);
  // After the manifest: a marker without its delta is harmless, a delta without its marker is not.
  if (found.stored.kind === "delta") await objects.delete([childKey(found.stored.delta.header.parent!, id)]);
}
