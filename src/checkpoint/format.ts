/**
 * The checkpoint format in the object store (all keys under the store's prefix):
 * - `packs/<sha256 of the pack>`: frames, concatenated. A frame is about 1 MB of small blobs, back
 *   to back, compressed together (codec.ts): far better ratio and speed than blob by blob, and
 *   still small enough for a ranged GET to fetch a few files.
 * - `index/<same id>`: gzip JSON `{ v, blobs: [[hash, frame offset, frame length, offset in the
 *   frame, size], …] }`, written after
 *   its pack, so that other snapshots (other workspaces) can find and reuse those blobs.
 * - `blobs/<sha256 of the content>`: one large file, compressed as a stream (codec.ts).
 * - `manifests/<checkpoint id>`: a magic line, a JSON summary line, then gzip JSON of the entries
 *   and the location of every blob they name. The id ends in a prefix of the SHA-256 of the whole
 *   object, so a corrupt, truncated or tampered manifest is refused on read.
 * A location is `[pack id, frame offset, frame length, offset in the decompressed frame, size]`;
 * pack id "" means a standalone blob (its whole object is the "frame").
 */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { IntegrityError, NotFoundError } from "../core/errors";
import type { CheckpointSummary, ManifestEntry } from "./types";

export const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const MAGIC = "TORPOR-MANIFEST 1\n";
const ID_HASH_CHARS = 31;
const HASH = /^[0-9a-f]{64}$/;
const CHECKPOINT_ID = /^cp_[0-9a-z]{9}[0-9a-f]{31}$/;

export type BlobLocation = [pack: string, frameOffset: number, frameLength: number, rawOffset: number, size: number];

export const keys = {
  pack: (id: string) => `packs/${id}`,
  index: (id: string) => `index/${id}`,
  blob: (hash: string) => `blobs/${hash}`,
  manifest: (id: string) => `manifests/${id}`,
};

export const sha256 = (data: Buffer | Uint8Array | string) => createHash("sha256").update(data).digest("hex");
export const isHash = (value: unknown): value is string => typeof value === "string" && HASH.test(value);
export const isCheckpointId = (value: string) => CHECKPOINT_ID.test(value);

export interface ManifestHeader {
  parent: string | null;
  createdAt: number;
  /** When the scan started: files modified at or after it may have changed unseen (racy stat). */
  scannedAt?: number;
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

/**
 * One entry on the wire. Files carry their blob's location inline: the index of its pack in the
 * manifest's pack list (-1: a standalone blob), offset, and stored length.
 */
type WireEntry =
  | [path: string, type: "f", mode: number, size: number, mtimeMs: number, hash: string, pack: number, offset: number, length: number, rawOffset: number]
  | [path: string, type: "d", mode: number, size: number, mtimeMs: number]
  | [path: string, type: "l", mode: number, size: number, mtimeMs: number, target: string];

/** Serializes a manifest; returns its bytes and the checkpoint id that names (and checks) them. */
export function encodeManifest(manifest: Manifest): { id: string; body: Buffer } {
  const packs: string[] = [];
  const packIndex = new Map<string, number>();
  const wire: WireEntry[] = manifest.entries.map((e): WireEntry => {
    if (e.type === "dir") return [e.path, "d", e.mode, e.size, e.mtimeMs];
    if (e.type === "symlink") return [e.path, "l", e.mode, e.size, e.mtimeMs, e.target ?? ""];
    const hash = e.hash ?? "";
    const loc = manifest.locations.get(hash);
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
  const payload = gzipSync(JSON.stringify({ packs, entries: wire }), { level: 1 });
  const body = Buffer.concat([Buffer.from(MAGIC + JSON.stringify(manifest.header) + "\n"), payload]);
  const time = manifest.header.createdAt.toString(36).padStart(9, "0").slice(-9);
  return { id: `cp_${time}${sha256(body).slice(0, ID_HASH_CHARS)}`, body };
}

/** Reads the summary line alone (from the first bytes of a manifest): for listings, unverified. */
export function decodeHeader(id: string, head: Buffer): ManifestHeader | null {
  const text = head.toString("latin1");
  if (!text.startsWith(MAGIC)) return null;
  const end = text.indexOf("\n", MAGIC.length);
  if (end < 0) return null;
  try {
    return JSON.parse(head.subarray(MAGIC.length, end).toString("utf8")) as ManifestHeader;
  } catch {
    throw new IntegrityError("INTEGRITY", `Checkpoint ${id}: unreadable manifest header`);
  }
}

function corrupt(id: string, what: string): never {
  throw new IntegrityError("INTEGRITY", `Checkpoint ${id}: manifest refused (${what})`, { details: { checkpoint: id } });
}

/** Parses and checks a manifest: its hash must match the id, and every field must be well-formed. */
export function decodeManifest(id: string, body: Buffer): Manifest {
  if (!isCheckpointId(id)) throw new NotFoundError(`No checkpoint '${id}' (not a checkpoint id)`);
  if (sha256(body).slice(0, ID_HASH_CHARS) !== id.slice(-ID_HASH_CHARS)) corrupt(id, "hash mismatch: corrupt, truncated or tampered");
  const header = decodeHeader(id, body);
  if (!header) corrupt(id, "bad header");
  const headerEnd = body.indexOf(0x0a, MAGIC.length) + 1;
  let parsed: { packs: unknown; entries: unknown };
  try {
    parsed = JSON.parse(gunzipSync(body.subarray(headerEnd)).toString("utf8"));
  } catch (error) {
    corrupt(id, `unreadable body: ${(error as Error).message}`);
  }
  const packs = parsed.packs;
  if (!Array.isArray(packs) || !Array.isArray(parsed.entries) || !packs.every(isHash)) corrupt(id, "bad body");
  const locations = new Map<string, BlobLocation>();
  const entries = (parsed.entries as unknown[]).map((raw): ManifestEntry => {
    const w = raw as unknown[];
    if (!Array.isArray(w) || typeof w[0] !== "string" || typeof w[2] !== "number" || typeof w[3] !== "number" || typeof w[4] !== "number") {
      corrupt(id, "bad entry");
    }
    const [path, t, mode, size, mtimeMs] = w as [string, string, number, number, number];
    if (t === "f") {
      const [hash, pack, offset, length, rawOffset] = w.slice(5) as [unknown, unknown, unknown, unknown, unknown];
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
  return { header, entries, locations };
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
    const parsed = JSON.parse(gunzipSync(body).toString("utf8")) as { blobs: IndexEntry[] };
    if (!Array.isArray(parsed.blobs)) throw new Error("no blobs");
    return parsed.blobs.filter((b) => Array.isArray(b) && b.length === 5 && isHash(b[0]) && b.slice(1).every((n) => typeof n === "number"));
  } catch (error) {
    throw new IntegrityError("INTEGRITY", `Pack index ${packId} is unreadable`, { cause: error });
  }
}
