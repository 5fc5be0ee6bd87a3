/**
 * Parsed manifests kept in memory, by checkpoint id, so that a flush does not read and parse its
 * parent's manifest again: on a 23,759-entry workspace that read was 0.1-0.36 s of a 1-file flush
 * (change-feed bench, issue 10). The engine fills it when a snapshot commits (it has just built
 * that manifest: the next flush's parent) and whenever it reads one from the store.
 *
 * Why the id is a safe key: a checkpoint id ends in the SHA-256 of its manifest object
 * (repo/format.ts) and a delta's base is named by its id too, so the resolved manifest of an id can
 * never change. Compaction writes a full manifest under a new id; removing a base moves the same
 * bytes to bases/; nothing rewrites an object under an existing id. What can change is whether
 * the checkpoint still exists, and whether its stored object is still intact:
 * - existence: the engine checks it on every hit (one HEAD of manifests/<id>, not a GET), so a
 *   checkpoint removed anywhere (this engine's remove, which also drops it here, retention in
 *   another process, the CLI) is never served. gc removes no checkpoint: it deletes only bases/
 *   and objects no kept manifest references, so it cannot take anything a listed checkpoint needs.
 * - integrity: restore and verify always read the stored object (create.ts), because they are
 *   the proof that the store still holds a readable checkpoint; a read the store refuses drops
 *   the id from here, so every later reader sees the damage too.
 *
 * Bounds: at most MAX_MANIFESTS manifests and MAX_ENTRIES entries in all (a delta counts its
 * base's entries too: it holds them), least recently used first out. A flush needs one manifest
 * per session (its latest; a commit drops the parent, create.ts). A 23,759-entry manifest held
 * here is about 10 MB of heap (measured: 425 bytes an entry with its path, hash and location), so
 * 4 manifests (40 MB) serve four sessions flushing in turn, and 400,000 entries (about 170 MB)
 * cap what a few very large workspaces can hold. A manifest larger than MAX_ENTRIES alone is not
 * kept (it costs a read, as before). Keeping a commit costs 20-60 ms (a delta put over its base
 * in memory; a full manifest through the wire form), against 0.1-0.36 s for the read it saves.
 *
 * Serverless (Inngest) processes start with it empty and often end before a second flush: there a
 * miss costs what a read cost before, and nothing else changes.
 *
 * Callers must not change a manifest they get: it is frozen on the way in (header, meta, entries
 * and each entry, locations' tuples), so a write throws instead of changing the next flush's
 * parent. The locations Map itself cannot be frozen; the engine's readers only read it
 * (KnownBlobs and resolveManifest copy it, planReads and encodeCheckpoint read it), and the
 * public readManifest does not hand it out.
 */
import type { ResolvedManifest } from "../repo/manifest-chain";
import type { Manifest } from "../repo/format";

export const MAX_MANIFESTS = 4;
export const MAX_ENTRIES = 400_000;

/** Entries a manifest holds in memory: its own and, for a delta, its base's. */
const weightOf = (m: ResolvedManifest) => m.entries.length + (m.chain.depth > 0 ? m.chain.base.entries.length : 0);

function freezeManifest(m: Manifest): void {
  if (Object.isFrozen(m.entries)) return;
  Object.freeze(m.header.meta);
  Object.freeze(m.header);
  for (const e of m.entries) Object.freeze(e);
  Object.freeze(m.entries);
  for (const loc of m.locations.values()) Object.freeze(loc);
}

/** Freezes `m` (and its base) in place and returns it. */
export function frozen(m: ResolvedManifest): ResolvedManifest {
  if (Object.isFrozen(m)) return m;
  freezeManifest(m.chain.base);
  Object.freeze(m.chain.base);
  // A full manifest shares its header, entries and locations with its own chain.base.
  freezeManifest(m);
  Object.freeze(m.chain);
  return Object.freeze(m);
}

export class ManifestCache {
  /** Insertion order is use order: the first key is the least recently used. */
  private readonly byId = new Map<string, { manifest: ResolvedManifest; weight: number }>();
  private weight = 0;

  constructor(private readonly limits: { manifests: number; entries: number } = { manifests: MAX_MANIFESTS, entries: MAX_ENTRIES }) {}

  get(id: string): ResolvedManifest | undefined {
    const found = this.byId.get(id);
    if (!found) return undefined;
    this.byId.delete(id);
    this.byId.set(id, found);
    return found.manifest;
  }

  /** Keeps `manifest` as checkpoint `id` (frozen: the same object is returned), evicting the least recently used. */
  put(id: string, manifest: ResolvedManifest): ResolvedManifest {
    const kept = frozen(manifest);
    this.delete(id);
    const weight = weightOf(kept);
    if (weight > this.limits.entries || this.limits.manifests <= 0) return kept;
    this.byId.set(id, { manifest: kept, weight });
    this.weight += weight;
    for (const [oldest, entry] of this.byId) {
      if (this.byId.size <= this.limits.manifests && this.weight <= this.limits.entries) break;
      this.byId.delete(oldest);
      this.weight -= entry.weight;
    }
    return kept;
  }

  delete(id: string): void {
    const found = this.byId.get(id);
    if (!found) return;
    this.byId.delete(id);
    this.weight -= found.weight;
  }

  /** The ids kept, least recently used first (for tests and diagnostics). */
  ids(): string[] {
    return [...this.byId.keys()];
  }
}
