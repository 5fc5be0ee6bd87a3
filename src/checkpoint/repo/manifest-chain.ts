/**
 * Manifest chains. A delta manifest (format.ts) holds only what differs from the full manifest at
 * the start of its chain (its base); reading a checkpoint resolves it against that base, so every
 * reader (restore, verify, readManifest, gc, compare) sees one whole manifest, checked as a full
 * one would be. Deltas are cumulative rather than parent on parent: a chain of any length costs
 * two reads (the tip names its base), and no delta depends on another, so removing a middle
 * checkpoint breaks nothing. A snapshot writes a delta while the chain has room (at most
 * `chainMax` checkpoints since the base, and a delta no larger than a quarter of the base, with a
 * floor), and a full manifest otherwise: that is the compaction.
 *
 * Removing a base must not break the deltas on it. Every delta is announced by an empty marker
 * `children/<base id>/<delta id>`, written before the delta itself; removing a checkpoint that has
 * a marker moves its manifest to `bases/<id>` (same bytes, same id check) instead of deleting it.
 * gc keeps a base as long as a kept delta names it.
 */
import { NotFoundError, StorageError } from "../../core/errors";
import type { ObjectStore } from "../../objectstore/types";
import {
  asRead,
  type BlobLocation,
  corrupt,
  decodeHeader,
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
import { PathCursor } from "./path-cursor";
import { byPath } from "./paths";
import type { ManifestEntry } from "../types";

/** The longest chain a reader follows; the setting (TORPOR_DELTA_CHAIN_MAX) stays below it. */
export const MAX_CHAIN_DEPTH = 128;
/** The size a delta may always reach, whatever the size of its base (past it, a quarter of the base). */
const MIN_DELTA_BYTES = 64 * 1024;

export const childKey = (parent: string, child: string) => `children/${parent}/${child}`;
export const childPrefix = (parent: string) => `children/${parent}/`;

/** A checkpoint's manifest with its chain resolved, and what the chain costs to read. */
export interface ResolvedManifest extends Manifest {
  chain: {
    /** Checkpoints of the chain since the base, this one included (0: the checkpoint is a full manifest). */
    depth: number;
    /** Stored bytes of the delta (0 for a full manifest). */
    deltaBytes: number;
    /** The full manifest the chain starts at (the checkpoint itself when it is full). */
    baseId: string;
    base: Manifest;
    /** Stored bytes of the base. */
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

/** Reads checkpoint `id` and, for a delta, its base, and applies the delta to the base. */
export async function resolveManifest(objects: ObjectStore, id: string): Promise<ResolvedManifest> {
  const top = await readStored(objects, id, false);
  if (!top) throw new NotFoundError(`No checkpoint '${id}' in ${objects.description}`, { details: { checkpoint: id } });
  if (top.stored.kind === "full") {
    const manifest = top.stored.manifest;
    return { ...manifest, chain: { depth: 0, deltaBytes: 0, baseId: id, base: manifest, baseBytes: top.bytes } };
  }
  const delta = top.stored.delta;
  const baseId = delta.header.base!;
  if (delta.header.depth! > MAX_CHAIN_DEPTH) corrupt(id, `depth ${delta.header.depth} (at most ${MAX_CHAIN_DEPTH})`);
  const found = await readStored(objects, baseId, true);
  if (!found) corrupt(id, `its chain is broken: its base ${baseId} is missing`);
  if (found.stored.kind !== "full") corrupt(id, `its base ${baseId} is not a full manifest`);
  return applyDelta(id, delta, top.bytes, { id: baseId, manifest: found.stored.manifest, bytes: found.bytes });
}

/** Checkpoint `id`: `delta` (`deltaBytes` stored) put over its base, with every check a read makes. */
function applyDelta(id: string, delta: ManifestDelta, deltaBytes: number, from: { id: string; manifest: Manifest; bytes: number }): ResolvedManifest {
  const base = from.manifest;
  const chain = { depth: delta.header.depth!, deltaBytes, baseId: from.id, base, baseBytes: from.bytes };

  // One pass over the base (sorted, as every snapshot writes it), swapping in the delta's entries.
  const deleted = new Set(delta.deleted);
  if (deleted.size !== delta.deleted.length) corrupt(id, "a path deleted twice");
  const changed = new Map(delta.entries.map((e) => [e.path, e]));
  if (changed.size !== delta.entries.length) corrupt(id, "a path listed twice");
  for (const path of deleted) if (changed.has(path)) corrupt(id, `'${path}' both deleted and changed`);
  const entries: ManifestEntry[] = [];
  const matched = new Set<string>();
  for (const e of base.entries) {
    if (deleted.has(e.path)) {
      matched.add(e.path);
      continue;
    }
    const replacement = changed.get(e.path);
    if (replacement) matched.add(e.path);
    entries.push(replacement ?? e);
  }
  for (const path of deleted) if (!matched.has(path)) corrupt(id, `deletes '${path}', which its base does not hold`);
  let added = false;
  for (const e of delta.entries) {
    if (matched.has(e.path)) continue;
    entries.push(e);
    added = true;
  }
  if (entries.length > MAX_MANIFEST_ENTRIES) corrupt(id, `more than ${MAX_MANIFEST_ENTRIES} entries once resolved`);
  if (added) entries.sort(byPath);
  // A path the base lists twice stays listed twice: restore's path checks refuse it as they would in a full manifest.
  const locations = new Map(base.locations);
  for (const [hash, loc] of delta.locations) locations.set(hash, loc);
  const counts = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  for (const e of entries) {
    if (e.type === "dir") counts.dirs++;
    else if (e.type === "symlink") counts.symlinks++;
    else {
      counts.files++;
      counts.bytes += e.size;
    }
  }
  const header = delta.header;
  if (counts.files !== header.files || counts.dirs !== header.dirs || counts.symlinks !== header.symlinks || counts.bytes !== header.bytes) {
    corrupt(id, "the resolved chain does not match the counts of its header");
  }
  return { header, entries, locations, chain };
}

/**
 * The checkpoint a snapshot just committed, as resolveManifest would read it back: a delta is
 * decoded from its own (small) body and put over the parent's base already in memory; a full
 * manifest goes through the wire form without the gzip and JSON. Same entries, locations, header
 * and chain as a read, so that what is kept of it serves the next snapshot exactly as a read would.
 */
export function committedManifest(encoded: EncodedCheckpoint, manifest: Manifest, parent: ResolvedManifest | undefined): ResolvedManifest {
  const { id, body, deltaOf } = encoded;
  if (deltaOf) {
    const stored = decodeStoredManifest(id, body);
    if (stored.kind !== "delta" || !parent || parent.chain.baseId !== deltaOf) corrupt(id, "a delta encoded without its base");
    return applyDelta(id, stored.delta, body.length, { id: deltaOf, manifest: parent.chain.base, bytes: parent.chain.baseBytes });
  }
  const header = decodeHeader(id, body);
  if (!header) corrupt(id, "bad header");
  const full: Manifest = { header, ...asRead(id, manifest.entries, manifest.locations) };
  return { ...full, chain: { depth: 0, deltaBytes: 0, baseId: id, base: full, baseBytes: body.length } };
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
  /** The base this delta applies to (its marker must be durable before the body); null: a full manifest. */
  deltaOf: string | null;
}

/**
 * Encodes a new checkpoint: a delta on the parent's base when the chain has room, else a full
 * manifest. `manifest.entries` must be sorted by path and `manifest.header.parent` must name `parent`.
 */
export function encodeCheckpoint(manifest: Manifest, parent: ResolvedManifest | undefined, chainMax: number): EncodedCheckpoint {
  const full = () => ({ ...encodeManifest(manifest), deltaOf: null });
  if (!parent || !manifest.header.parent || chainMax <= 0 || parent.chain.depth + 1 > Math.min(chainMax, MAX_CHAIN_DEPTH)) return full();
  const base = parent.chain.base;
  const before = new PathCursor(base.entries);
  const changed: ManifestEntry[] = [];
  for (const e of manifest.entries) {
    const old = before.take(e.path);
    if (!old || !sameEntry(old, e, base.locations, manifest.locations)) changed.push(e);
  }
  const deleted = before.rest().map((e) => e.path);
  const locations = new Map<string, BlobLocation>();
  for (const e of changed) {
    const loc = e.type === "file" ? manifest.locations.get(e.hash!) : undefined;
    if (loc) locations.set(e.hash!, loc);
  }
  const header = { ...manifest.header, base: parent.chain.baseId, depth: parent.chain.depth + 1 };
  const delta = encodeDelta({ header, entries: changed, deleted, locations });
  if (delta.body.length > Math.max(MIN_DELTA_BYTES, parent.chain.baseBytes / 4)) return full();
  return { ...delta, deltaOf: parent.chain.baseId };
}

/**
 * Removes checkpoint `id`: its manifest is deleted, or, when it is the base of a delta, moved to
 * bases/ so that the delta still reads. A removed delta's own marker goes with it.
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
  if (found.stored.kind === "delta") await objects.delete([childKey(found.stored.delta.header.base!, id)]);
}
