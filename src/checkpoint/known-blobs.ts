/**
 * Which blobs the bucket already holds, and where: the dedup table of a snapshot. It starts from
 * the parent manifest's locations; the first time a snapshot meets content the parent does not
 * have, it loads every pack index in the bucket (so that a second workspace with the same
 * node_modules reuses the first one's packs). Large blobs are looked up one HEAD at a time.
 */
import { IntegrityError, StorageError } from "../core/errors";
import type { ObjectStore } from "../objectstore/index";
import { Gate } from "./channel";
import { type BlobLocation, decodeIndex, EMPTY_HASH, keys } from "./format";

export class KnownBlobs {
  private readonly locations = new Map<string, BlobLocation>();
  private loading: Promise<void> | undefined;
  private misses = 0;

  constructor(
    private readonly objects: ObjectStore,
    private readonly concurrency: number,
    seed?: Map<string, BlobLocation>,
    /** New small blobs tolerated before loading every index (with a parent, a few new blobs are
     * cheaper to store again than the indexes are to load). */
    private readonly missesBeforeLoading = 0,
    /** False for a rewrite snapshot: only what this snapshot itself uploaded counts as stored, so
     * a damaged pack, index or blob already in the bucket is never reused, only replaced. */
    private readonly trustStored = true,
  ) {
    if (seed) for (const [hash, loc] of seed) this.locations.set(hash, loc);
  }

  get(hash: string): BlobLocation | undefined {
    return this.locations.get(hash);
  }

  set(hash: string, location: BlobLocation): void {
    this.locations.set(hash, location);
  }

  /** Whether a small blob exists in some pack (after loading every pack index once). */
  async hasSmall(hash: string): Promise<boolean> {
    if (hash === EMPTY_HASH || this.locations.has(hash)) return true;
    if (!this.trustStored) return false;
    if (!this.loading && this.misses++ < this.missesBeforeLoading) return false;
    await this.loadIndexes();
    return this.locations.has(hash);
  }

  /** Whether a large blob exists as its own object; records its location if so. */
  async hasLarge(hash: string, size: number): Promise<boolean> {
    if (hash === EMPTY_HASH || this.locations.has(hash)) return true;
    if (!this.trustStored) return false;
    const info = await this.objects.head(keys.blob(hash));
    if (!info) return false;
    this.locations.set(hash, ["", 0, info.size, 0, size]);
    return true;
  }

  private loadIndexes(): Promise<void> {
    this.loading ??= (async () => {
      const ids: string[] = [];
      for await (const item of this.objects.list("index/")) ids.push(item.key.slice("index/".length));
      const gate = new Gate(this.concurrency);
      await Promise.all(
        ids.map((id) =>
          gate.run(async () => {
            let body: Buffer;
            try {
              body = await this.objects.getBuffer(keys.index(id));
            } catch (error) {
              // Deleted by a gc since the listing: its blobs are simply not reusable.
              if (error instanceof StorageError && error.code === "NOT_FOUND") return;
              throw error;
            }
            let blobs: ReturnType<typeof decodeIndex>;
            try {
              blobs = decodeIndex(id, body);
            } catch (error) {
              // A damaged index only costs reuse: its pack's blobs get stored again, never trusted.
              if (error instanceof IntegrityError) return;
              throw error;
            }
            for (const [hash, offset, length, rawOffset, size] of blobs) {
              if (!this.locations.has(hash)) this.locations.set(hash, [id, offset, length, rawOffset, size]);
            }
          }),
        ),
      );
    })();
    return this.loading;
  }
}
