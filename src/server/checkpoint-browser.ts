/**
 * The checkpoint browser's reads: a checkpoint's files, one file's content and what changed against
 * another checkpoint (or the live workspace), all read-only and straight from the object store, so
 * that looking at a sleeping session's files never wakes its sandbox.
 *
 * The engine's public surface has readManifest but no "one file" read (restore writes a whole
 * workspace), so readCheckpointFile uses the engine's own readers (manifest chain, ranged pack
 * reads, large-blob streams): one manifest read and one ranged GET, every byte checked against
 * the file's SHA-256 as a restore would.
 */
import { resolveManifest } from "../checkpoint/repo/manifest-chain";
import { openLargeBlob, planReads, readRange } from "../checkpoint/repo/blob-reader";
import { EMPTY_HASH } from "../checkpoint/repo/format";
import type { ManifestEntry, ScanEntry } from "../core/workspace";
import type { ObjectStore } from "../objectstore/types";

/** What checkpoints.readFile returns at most: the browser shows and downloads small files. */
export const MAX_BROWSE_BYTES = 8 * 1024 * 1024;
/** Paths a diff lists per kind (the counts are always complete). */
export const MAX_DIFF_PATHS = 500;

export interface CheckpointFile {
  path: string;
  type: ManifestEntry["type"];
  size: number;
  mode: number;
  mtimeMs: number;
  target?: string;
}

export interface FileDiff {
  added: string[];
  changed: string[];
  deleted: string[];
  counts: { added: number; changed: number; deleted: number };
}

export const fileOf = (e: ManifestEntry): CheckpointFile => ({
  path: e.path,
  type: e.type,
  size: e.size,
  mode: e.mode,
  mtimeMs: e.mtimeMs,
  ...(e.target !== undefined ? { target: e.target } : {}),
});

/** Entries compared by content (hash) when both sides have one, otherwise by type, size, mode and mtime. */
function differs(now: ManifestEntry | ScanEntry, before: ManifestEntry): boolean {
  if (now.type !== before.type || now.mode !== before.mode) return true;
  if (now.type === "symlink") return now.target !== before.target;
  if (now.type === "dir") return false;
  const hash = (now as ManifestEntry).hash;
  if (hash !== undefined && before.hash !== undefined) return hash !== before.hash;
  return now.size !== before.size || Math.abs(now.mtimeMs - before.mtimeMs) >= 0.01;
}

/** What `next` holds that `base` does not (added), holds otherwise (changed) or no longer holds (deleted). */
export function diffEntries(next: (ManifestEntry | ScanEntry)[], base: ManifestEntry[]): FileDiff {
  const before = new Map(base.map((e) => [e.path, e]));
  const added: string[] = [];
  const changed: string[] = [];
  for (const entry of next) {
    const old = before.get(entry.path);
    before.delete(entry.path);
    if (!old) added.push(entry.path);
    else if (differs(entry, old)) changed.push(entry.path);
  }
  const deleted = [...before.keys()];
  const cap = (paths: string[]) => paths.sort().slice(0, MAX_DIFF_PATHS);
  return {
    added: cap(added),
    changed: cap(changed),
    deleted: cap(deleted),
    counts: { added: added.length, changed: changed.length, deleted: deleted.length },
  };
}

export type FileRead =
  | { kind: "ok"; entry: ManifestEntry; data: Buffer }
  | { kind: "missing" }
  | { kind: "not-a-file"; entry: ManifestEntry }
  | { kind: "too-large"; entry: ManifestEntry };

/** One file of checkpoint `id`, checked against its hash; refused above `maxBytes`. */
export async function readCheckpointFile(objects: ObjectStore, id: string, path: string, maxBytes = MAX_BROWSE_BYTES): Promise<FileRead> {
  const manifest = await resolveManifest(objects, id);
  const entry = manifest.entries.find((e) => e.path === path);
  if (!entry) return { kind: "missing" };
  if (entry.type !== "file" || entry.hash === undefined) return { kind: "not-a-file", entry };
  if (entry.size > maxBytes) return { kind: "too-large", entry };
  if (entry.hash === EMPTY_HASH) return { kind: "ok", entry, data: Buffer.alloc(0) };
  const plan = planReads([entry.hash], manifest.locations, id);
  for (const range of plan.ranges) {
    for await (const blob of readRange(objects, range)) if (blob.hash === entry.hash) return { kind: "ok", entry, data: Buffer.from(blob.data) };
  }
  const large = plan.large[0]!;
  const parts: Buffer[] = [];
  // The stream errors instead of ending when the content does not match its hash.
  for await (const chunk of await openLargeBlob(objects, { hash: large.hash, size: large.size })) parts.push(chunk as Buffer);
  return { kind: "ok", entry, data: Buffer.concat(parts) };
}
