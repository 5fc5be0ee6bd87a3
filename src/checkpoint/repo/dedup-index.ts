/**
 * The bucket's dedup index: where the small blobs of every kept checkpoint sit, in a few objects,
 * so that a new session's first snapshot finds another session's packs without reading every
 * `index/<pack>` in the bucket (with 10,000 sessions, hundreds of thousands of GETs).
 *
 * - `dedup/gen/<generation>`: hash → pack location for every pack a kept manifest referenced
 *   when gc wrote it (gc.ts builds it from the manifests it reads, merged with the previous
 *   generation, so a gc after one new checkpoint reads one manifest).
 * - `dedup/log/<checkpoint id>`: the pack locations one committed snapshot uploaded, written just
 *   after its manifest (best effort: a crash before it costs reuse, never correctness); gc folds
 *   the logs into the next generation and deletes them.
 *
 * A reader takes the newest generation and the newest MAX_LOGS logs: 1 LIST and a few GETs. An
 * entry is only a hint: before a snapshot reuses a location, KnownBlobs checks once per pack that
 * the pack still exists (a miss just uploads). gc never deletes a pack because of the index: it
 * keeps what a manifest references, and a pack it ever published here is deleted only a grace
 * period after a generation without it replaced it (gc.ts), which covers a snapshot that read an
 * older generation and is still being written.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { StorageError } from "../../core/errors";
import type { ObjectStore } from "../../objectstore/types";
import { Gate } from "../channel";
import { type BlobLocation, isHash } from "./format";

export const DEDUP_PREFIX = "dedup/";
export const dedupKeys = {
  generation: (gen: string) => `dedup/gen/${gen}`,
  log: (checkpoint: string) => `dedup/log/${checkpoint}`,
};
/** Logs a reader reads at most (the newest ones); gc folds them all into a generation hourly. */
export const MAX_LOGS = 64;
/** Caps what a reader inflates, so a hostile object cannot make it allocate without bound. */
const MAX_JSON_BYTES = 1024 * 1024 * 1024;

/** A generation name that sorts by time (then by a random tail, for two gcs in one millisecond). */
export function generationName(now: number): string {
  return `${now.toString(36).padStart(10, "0")}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Only pack locations: large blobs are found with one HEAD each (blobs/<hash>). */
export function encodeDedup(locations: Iterable<[string, BlobLocation]>): Buffer {
  const packs: string[] = [];
  const packIndex = new Map<string, number>();
  const blobs: [string, number, number, number, number, number][] = [];
  for (const [hash, [pack, offset, length, rawOffset, size]] of locations) {
    if (pack === "") continue;
    let i = packIndex.get(pack);
    if (i === undefined) packIndex.set(pack, (i = packs.push(pack) - 1));
    blobs.push([hash, i, offset, length, rawOffset, size]);
  }
  return gzipSync(JSON.stringify({ v: 1, packs, blobs }), { level: 1 });
}

/** null when the object is not a readable dedup index (it is then ignored: only reuse is lost). */
export function decodeDedup(body: Buffer): Map<string, BlobLocation> | null {
  try {
    const parsed = JSON.parse(gunzipSync(body, { maxOutputLength: MAX_JSON_BYTES }).toString("utf8")) as { packs: unknown; blobs: unknown };
    if (!Array.isArray(parsed.packs) || !parsed.packs.every(isHash) || !Array.isArray(parsed.blobs)) return null;
    const packs = parsed.packs as string[];
    const out = new Map<string, BlobLocation>();
    for (const b of parsed.blobs as unknown[]) {
      if (!Array.isArray(b) || b.length !== 6 || !isHash(b[0]) || !b.slice(1).every((n) => Number.isSafeInteger(n) && n >= 0)) continue;
      const pack = packs[b[1] as number];
      if (pack === undefined) continue;
      out.set(b[0], [pack, b[2], b[3], b[4], b[5]]);
    }
    return out;
  } catch {
    return null;
  }
}

export interface DedupListing {
  /** Newest first. */
  generations: string[];
  logs: string[];
}

export async function listDedup(objects: ObjectStore): Promise<DedupListing> {
  const generations: string[] = [];
  const logs: string[] = [];
  for await (const item of objects.list(DEDUP_PREFIX)) {
    if (item.key.startsWith("dedup/gen/")) generations.push(item.key.slice("dedup/gen/".length));
    else if (item.key.startsWith("dedup/log/")) logs.push(item.key.slice("dedup/log/".length));
  }
  // Checkpoint ids and generation names both start with their time: the names sort by age.
  generations.sort().reverse();
  logs.sort().reverse();
  return { generations, logs };
}

/** One dedup object, or null when it is gone (a gc replaced it) or unreadable. */
export async function readDedup(objects: ObjectStore, key: string): Promise<Map<string, BlobLocation> | null> {
  try {
    return decodeDedup(await objects.getBuffer(key));
  } catch (error) {
    if (error instanceof StorageError && error.code === "NOT_FOUND") return null;
    throw error;
  }
}

/** What a snapshot consults: the newest generation and the newest MAX_LOGS logs, as hints. */
export async function loadDedupHints(objects: ObjectStore, concurrency: number): Promise<Map<string, BlobLocation>> {
  const listing = await listDedup(objects);
  const keys = [
    ...listing.logs.slice(0, MAX_LOGS).map(dedupKeys.log),
    ...listing.generations.slice(0, 1).map(dedupKeys.generation),
  ];
  const gate = new Gate(concurrency);
  const parts = await Promise.all(keys.map((key) => gate.run(() => readDedup(objects, key))));
  const hints = new Map<string, BlobLocation>();
  // Newest logs first, then the generation: the first location seen for a hash wins.
  for (const part of parts) for (const [hash, loc] of part ?? []) if (!hints.has(hash)) hints.set(hash, loc);
  return hints;
}

/** Written after the manifest (the commit); a failure is swallowed: the next gc indexes it anyway. */
export async function writeDedupLog(objects: ObjectStore, checkpoint: string, uploaded: Map<string, BlobLocation>): Promise<boolean> {
  if (![...uploaded.values()].some((loc) => loc[0] !== "")) return false;
  try {
    await objects.put(dedupKeys.log(checkpoint), encodeDedup(uploaded));
    return true;
  } catch {
    return false;
  }
}
