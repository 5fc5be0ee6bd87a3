/**
 * Which blobs the bucket already holds, and where: the dedup table of a snapshot. It starts from
 * the parent manifest's locations; the first time a snapshot meets content the parent does not
 * have, it reads the bucket's dedup index (dedup-index.ts: the newest generation and recent
 * commit logs, a few GETs, never every `index/<pack>`), so that a second workspace with the same
 * node_modules reuses the first one's packs. An index entry is a hint: its pack is checked with
 * one HEAD (once per pack) before any of its blobs is reused, and a missing pack means upload.
 * Large blobs are looked up one HEAD at a time.
 */
import type { ObjectStore } from "../../objectstore/types";
import { loadDedupHints } from "./dedup-index";
import { type BlobLocation, EMPTY_HASH, keys } from "./format";

export class KnownBlobs {
  /** What this snapshot learned (uploads, hints, HEADs): looked at before the parent's. */
  private readonly locations = new Map<string, BlobLocation>();
  /** Locations this snapshot stored itself (for its dedup log). */
  readonly uploaded = new Map<string, BlobLocation>();
  private hints: Promise<Map<string, BlobLocation>> | undefined;
  private readonly packExists = new Map<string, Promise<boolean>>();
  private misses = 0;

  constructor(
    private readonly objects: ObjectStore,
    private readonly concurrency: number,
    /** The parent's locations: read, never changed (it may be a kept manifest's own Map), and
     * not copied (tens of thousands of entries, for a snapshot that adds a handful). */
    private readonly seed?: ReadonlyMap<string, BlobLocation>,
    /** New small blobs tolerated before loading every index (with a parent, a few new blobs are
     * cheaper to store again than the indexes are to load). */
    private readonly missesBeforeLoading = 0,
    /** False for a rewrite snapshot: only what this snapshot itself uploaded counts as stored, so
     * a damaged pack, index or blob already in the bucket is never reused, only replaced. */
    private readonly trustStored = true,
  ) {}

  get(hash: string): BlobLocation | undefined {
    return this.locations.get(hash) ?? this.seed?.get(hash);
  }

  private has(hash: string): boolean {
    return this.locations.has(hash) || this.seed?.has(hash) === true;
  }

  set(hash: string, location: BlobLocation): void {
    this.locations.set(hash, location);
    this.uploaded.set(hash, location);
  }

  /** Whether a small blob exists in some pack (after reading the dedup index once). */
  async hasSmall(hash: string): Promise<boolean> {
    if (hash === EMPTY_HASH || this.has(hash)) return true;
    if (!this.trustStored) return false;
    if (!this.hints && this.misses++ < this.missesBeforeLoading) return false;
    this.hints ??= loadDedupHints(this.objects, this.concurrency);
    const hint = (await this.hints).get(hash);
    if (!hint || !(await this.checkPack(hint[0]))) return false;
    if (!this.has(hash)) this.locations.set(hash, hint);
    return true;
  }

  /** A stale hint (its pack deleted by gc, or lost) is dropped: the blob is stored again. */
  private checkPack(pack: string): Promise<boolean> {
    let found = this.packExists.get(pack);
    if (!found) {
      found = this.objects.head(keys.pack(pack)).then((info) => info !== null);
      this.packExists.set(pack, found);
    }
    return found;
  }

  /** Whether a large blob exists as its own object; records its location if so. */
  async hasLarge(hash: string, size: number): Promise<boolean> {
    if (hash === EMPTY_HASH || this.has(hash)) return true;
    if (!this.trustStored) return false;
    const info = await this.objects.head(keys.blob(hash));
    if (!info) return false;
    this.locations.set(hash, ["", 0, info.size, 0, size]);
    return true;
  }
}
