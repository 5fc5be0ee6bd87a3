/**
 * The checkpoint format in the object store (all keys under the store's prefix):
 * - `packs/<sha256 of the pack>`: frames, concatenated. A frame is about 1 MB of small blobs, back
 *   to back, compressed together (codec.ts): far better ratio and speed than blob by blob, and
 *   still small enough for a ranged GET to fetch a few files.
 * - `index/<same id>`: gzip JSON `{ v, blobs: [[hash, frame offset, frame length, offset in the
 *   frame, size], …] }`, written after
 *   its pack, so that other snapshots (other workspaces) can find and reuse those blobs.
 * - `blobs/<sha256 of the content>`: one large file, compressed as a stream (codec.ts).
 * - `manifests/<checkpoint id>`: a committed checkpoint, in one of two forms, told apart by the
 *   magic line:
 *   - full (`TORPOR-MANIFEST 1`): the magic line, a JSON summary line, then gzip JSON
 *     `{ packs, entries }` of every entry and the location of every blob they name;
 *   - delta (`TORPOR-DELTA 1`): the magic line, the same summary line (its counts are those of the
 *     resolved checkpoint) with `parent` (the checkpoint it was taken on), `base` (the full
 *     manifest of its chain: the parent itself, or the parent's base) and `depth` (how many
 *     checkpoints of the chain since the base, itself included), then gzip JSON `{ packs,
 *     entries, deleted }`: the entries added or changed since the base, in the same wire form,
 *     and the paths the base holds that are gone. The checkpoint is the base minus `deleted`,
 *     with `entries` put over it (manifest-chain.ts): two objects to read however long the chain.
 *   Both ids end in a prefix of the SHA-256 of the whole object, so a corrupt, truncated or
 *   tampered manifest (the delta or its base) is refused on read. Reads are capped (object size,
 *   JSON size, entries: MAX_MANIFEST_*).
 * - `bases/<checkpoint id>`: the same bytes as a removed checkpoint's full manifest, kept only
 *   while a delta applies to it (gc deletes it once none does). Never listed as a checkpoint.
 * - `children/<base id>/<delta id>`: an empty marker, written before the delta, so that removing
 *   the base keeps it (manifest-chain.ts).
 * A location is `[pack id, frame offset, frame length, offset in the decompressed frame, size]`;
 * pack id "" means a standalone blob (its whole object is the "frame").
 */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { IntegrityError, NotFoundError } from "../../core/errors";
import type { CheckpointSummary, ManifestEntry } from "../types";

export const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const MAGIC = "TORPOR-MANIFEST 1\n";
const DELTA_MAGIC = "TORPOR-DELTA 1\n";
const ID_HASH_CHARS = 31;
const HASH = /^[0-9a-f]{64}$/;
const CHECKPOINT_ID = /^cp_[0-9a-z]{9}[0-9a-f]{31}$/;
/**
 * Caps on what a read accepts, so that a hostile object cannot make a reader allocate without
 * bound: a 23,759-entry manifest is 1.42 MB stored and about 4 MB of JSON, so these leave room
 * for workspaces of a million entries and no more.
 */
export const MAX_MANIFEST_OBJECT_BYTES = 64 * 1024 * 1024;
export const MAX_MANIFEST_JSON_BYTES = 512 * 1024 * 1024;
export const MAX_MANIFEST_ENTRIES = 1_000_000;
/**
 * Output chunk of the gunzip of a manifest or index body (zlib's default is 16 KB): a 4 MB body
 * in 16 KB chunks is some 260 buffers and their concatenation, 10-40 ms on the bench's 1.3 MB
 * manifest against 8 ms in 256 KB chunks. The bytes out are the same.
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

export type BlobLocation = [pack: string, frameOffset: number, frameLength: number, rawOffset: number, size: number];

export const keys = {
  pack: (id: string) => `packs/${id}`,
  index: (id: string) => `index/${id}`,
  blob: (hash: string) => `blobs/${hash}`,
  manifest: (id: string) => `manifests/${id}`,
  /** A removed checkpoint's manifest, kept while a delta chain reads it. */
  base: (id: string) => `bases/${id}`,
};

export const sha256 = (data: Buffer | Uint8Array | string) => createHash("sha256").update(data).digest("hex");
export const isHash = (value: unknown): value is string => typeof value === "string" && HASH.test(value);
export const isCheckpointId = (value: string) => CHECKPOINT_ID.test(value);

export interface ManifestHeader {
  parent: string | null;
  createdAt: number;
  /** When the scan started: files modified at or after it may have changed unseen (racy stat). */
  scannedAt?: number;
  /** Deltas only: the full manifest the delta applies to. */
  base?: string;
  /** Deltas only: checkpoints of the chain since the base, itself included (1: the parent is the base). */
  depth?: number;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  meta: Record<string, string>;
}

export interface Manifest {
  header: ManifestHeader;
  entries: ManifestEntry[];
  locations: Map<string, BlobLocation>;
}

/** A delta as stored: what changed since `header.base`. `entries` holds added and changed entries. */
export interface ManifestDelta extends Manifest {
  deleted: string[];
}

/** One manifest object as read, before any chain is resolved. */
export type StoredManifest = { kind: "full"; manifest: Manifest } | { kind: "delta"; delta: ManifestDelta };

/**
 * One entry on the wire. Files carry their blob's location inline: the index of its pack in the
 * manifest's pack list (-1: a standalone blob), offset, and stored length.
 */
type WireEntry =
  | [path: string, type: "f", mode: number, size: number, mtimeMs: number, hash: string, pack: number, offset: number, length: number, rawOffset: number]
  | [path: string, type: "d", mode: number, size: number, mtimeMs: number]
  | [path: string, type: "l", mode: number, size: number, mtimeMs: number, target: string];

function toWire(entries: ManifestEntry[], locations: Map<string, BlobLocation>): { packs: string[]; entries: WireEntry[] } {
  const packs: string[] = [];
  const packIndex = new Map<string, number>();
  const wire = entries.map((e): WireEntry => {
    if (e.type === "dir") return [e.path, "d", e.mode, e.size, e.mtimeMs];
    if (e.type === "symlink") return [e.path, "l", e.mode, e.size, e.mtimeMs, e.target ?? ""];
    const hash = e.hash ?? "";
    const loc = locations.get(hash);
    if (!loc) return [e.path, "f", e.mode, e.size, e.mtimeMs, hash, -1, 0, 0, 0];
    let index = -1;
    if (loc[0] !== "") {
      index = packIndex.get(loc[0]) ?? -1;
      if (index < 0) {
        index = packs.push(loc[0]) - 1;
        packIndex.set(loc[0], index);
      }
    }
    return [e.path, "f", e.mode, e.size, e.mtimeMs, hash, index, loc[1], loc[2], loc[3]];
  });
  return { packs, entries: wire };
}

function encodeObject(magic: string, header: ManifestHeader, payload: object): { id: string; body: Buffer } {
  const gz = gzipSync(JSON.stringify(payload), { level: 1 });
  const body = Buffer.concat([Buffer.from(magic + JSON.stringify(header) + "\n"), gz]);
  const time = header.createdAt.toString(36).padStart(9, "0").slice(-9);
  return { id: `cp_${time}${sha256(body).slice(0, ID_HASH_CHARS)}`, body };
}

/** Serializes a full manifest; returns its bytes and the checkpoint id that names (and checks) them. */
export function encodeManifest(manifest: Manifest): { id: string; body: Buffer } {
  const { depth: _depth, base: _base, ...header } = manifest.header;
  return encodeObject(MAGIC, header, toWire(manifest.entries, manifest.locations));
}

/** Serializes a delta: `header.parent`, `header.base` and `header.depth` are required. */
export function encodeDelta(delta: ManifestDelta): { id: string; body: Buffer } {
  const { header } = delta;
  if (!header.parent || !header.base || !header.depth || header.depth < 1) throw new TypeError("a delta needs a parent, a base and a depth of at least 1");
  return encodeObject(DELTA_MAGIC, header, { ...toWire(delta.entries, delta.locations), deleted: delta.deleted });
}

/** The magic line the object starts with, if it is one of ours. */
function magicOf(head: Buffer): string | null {
  const text = head.subarray(0, DELTA_MAGIC.length + 4).toString("latin1");
  if (text.startsWith(MAGIC)) return MAGIC;
  if (text.startsWith(DELTA_MAGIC)) return DELTA_MAGIC;
  return null;
}

/** Reads the summary line alone (from the first bytes of a manifest): for listings, unverified. */
export function decodeHeader(id: string, head: Buffer): ManifestHeader | null {
  const magic = magicOf(head);
  if (!magic) return null;
  const end = head.indexOf(0x0a, magic.length);
  if (end < 0) return null;
  try {
    return JSON.parse(head.subarray(magic.length, end).toString("utf8")) as ManifestHeader;
  } catch {
    throw new IntegrityError("INTEGRITY", `Checkpoint ${id}: unreadable manifest header`);
  }
}

export function corrupt(id: string, what: string): never {
  throw new IntegrityError("INTEGRITY", `Checkpoint ${id}: manifest refused (${what})`, { details: { checkpoint: id } });
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

function checkHeader(id: string, header: ManifestHeader, delta: boolean): void {
  if (typeof header !== "object" || header === null || typeof header.createdAt !== "number") corrupt(id, "bad header");
  if (![header.files, header.dirs, header.symlinks, header.bytes].every(isCount)) corrupt(id, "bad header counts");
  if (header.parent !== null && (typeof header.parent !== "string" || !isCheckpointId(header.parent))) corrupt(id, "bad parent");
  if (header.parent === id) corrupt(id, "its own parent");
  if (delta && (header.parent === null || !isCount(header.depth) || header.depth < 1)) corrupt(id, "a delta without a parent or a depth");
  if (delta && (typeof header.base !== "string" || !isCheckpointId(header.base) || header.base === id)) corrupt(id, "a delta without a base");
  if (delta && header.depth === 1 && header.base !== header.parent) corrupt(id, "depth 1 on a parent that is not its base");
}

function fromWire(id: string, packs: unknown, rawEntries: unknown): { entries: ManifestEntry[]; locations: Map<string, BlobLocation> } {
  if (!Array.isArray(packs) || !Array.isArray(rawEntries) || !packs.every(isHash)) corrupt(id, "bad body");
  if (rawEntries.length > MAX_MANIFEST_ENTRIES) corrupt(id, `more than ${MAX_MANIFEST_ENTRIES} entries`);
  const locations = new Map<string, BlobLocation>();
  const entries = rawEntries.map((raw): ManifestEntry => {
    const w = raw as unknown[];
    if (!Array.isArray(w) || typeof w[0] !== "string" || typeof w[2] !== "number" || typeof w[3] !== "number" || typeof w[4] !== "number") {
      corrupt(id, "bad entry");
    }
    // Indexed reads, not destructuring and w.slice(5): no iterator and no array per entry.
    const path = w[0] as string;
    const t = w[1];
    const mode = w[2] as number;
    const size = w[3] as number;
    const mtimeMs = w[4] as number;
    if (t === "f") {
      const hash = w[5];
      const pack = w[6];
      const offset = w[7];
      const length = w[8];
      const rawOffset = w[9];
      if (!isHash(hash) || typeof pack !== "number" || typeof offset !== "number" || typeof length !== "number" || typeof rawOffset !== "number") {
        corrupt(id, `bad file entry ${path}`);
      }
      if (hash !== EMPTY_HASH && !locations.has(hash)) {
        const packId = pack === -1 ? "" : packs[pack];
        if (packId === undefined) corrupt(id, `bad pack reference for ${path}`);
        locations.set(hash, [packId, offset, length, rawOffset, size]);
      }
      return { path, type: "file", mode, size, mtimeMs, hash };
    }
    if (t === "d") return { path, type: "dir", mode, size, mtimeMs };
    if (t === "l" && typeof w[5] === "string") return { path, type: "symlink", mode, size, mtimeMs, target: w[5] };
    return corrupt(id, `bad entry type for ${path}`);
  });
  return { entries, locations };
}

/**
 * The entries and locations a read of a manifest encoded from these would return (the same wire
 * form, without the gzip and JSON round trip): what the engine keeps of a checkpoint it just wrote.
 */
export function asRead(id: string, entries: ManifestEntry[], locations: Map<string, BlobLocation>): { entries: ManifestEntry[]; locations: Map<string, BlobLocation> } {
  const wire = toWire(entries, locations);
  return fromWire(id, wire.packs, wire.entries);
}

/**
 * Parses and checks one manifest object, full or delta: its hash must match the id, it must stay
 * within the caps, and every field must be well-formed. A delta's chain is not read here.
 */
export function decodeStoredManifest(id: string, body: Buffer): StoredManifest {
  if (!isCheckpointId(id)) throw new NotFoundError(`No checkpoint '${id}' (not a checkpoint id)`);
  if (sha256(body).slice(0, ID_HASH_CHARS) !== id.slice(-ID_HASH_CHARS)) corrupt(id, "hash mismatch: corrupt, truncated or tampered");
  if (body.length > MAX_MANIFEST_OBJECT_BYTES) corrupt(id, `larger than ${MAX_MANIFEST_OBJECT_BYTES} bytes`);
  const magic = magicOf(body);
  const header = magic ? decodeHeader(id, body) : null;
  if (!magic || !header) corrupt(id, "bad header");
  const delta = magic === DELTA_MAGIC;
  checkHeader(id, header, delta);
  const headerEnd = body.indexOf(0x0a, magic.length) + 1;
  let parsed: { packs: unknown; entries: unknown; deleted?: unknown };
  try {
    parsed = JSON.parse(gunzipSync(body.subarray(headerEnd), { maxOutputLength: MAX_MANIFEST_JSON_BYTES, chunkSize: GUNZIP_CHUNK_BYTES }).toString("utf8"));
  } catch (error) {
    corrupt(id, `unreadable body: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null) corrupt(id, "bad body");
  const { entries, locations } = fromWire(id, parsed.packs, parsed.entries);
  if (!delta) return { kind: "full", manifest: { header, entries, locations } };
  const deleted = parsed.deleted;
  if (!Array.isArray(deleted) || !deleted.every((p) => typeof p === "string")) corrupt(id, "bad list of deleted paths");
  if (entries.length + deleted.length > MAX_MANIFEST_ENTRIES) corrupt(id, `more than ${MAX_MANIFEST_ENTRIES} changes`);
  return { kind: "delta", delta: { header, entries, locations, deleted: deleted as string[] } };
}

/** Parses and checks a full manifest (a delta is refused: resolve it with manifest-chain.ts). */
export function decodeManifest(id: string, body: Buffer): Manifest {
  const stored = decodeStoredManifest(id, body);
  if (stored.kind === "delta") corrupt(id, "a delta, read without its chain");
  return stored.manifest;
}

export function summaryOf(id: string, header: ManifestHeader): CheckpointSummary {
  return { id, parent: header.parent, createdAt: header.createdAt, files: header.files, bytes: header.bytes, meta: header.meta ?? {} };
}

export type IndexEntry = [hash: string, frameOffset: number, frameLength: number, rawOffset: number, size: number];

/** A pack index: which blob sits where in a pack. */
export function encodeIndex(blobs: IndexEntry[]): Buffer {
  return gzipSync(JSON.stringify({ v: 1, blobs }));
}

export function decodeIndex(packId: string, body: Buffer): IndexEntry[] {
  try {
    const parsed = JSON.parse(gunzipSync(body, { chunkSize: GUNZIP_CHUNK_BYTES }).toString("utf8")) as { blobs: IndexEntry[] };
    if (!Array.isArray(parsed.blobs)) throw new Error("no blobs");
    return parsed.blobs.filter((b) => Array.isArray(b) && b.length === 5 && isHash(b[0]) && b.slice(1).every((n) => typeof n === "number"));
  } catch (error) {
    throw new IntegrityError("INTEGRITY", `Pack index ${packId} is unreadable`, { cause: error });
  }
}
