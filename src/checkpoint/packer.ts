/**
 * Groups small blobs into packs: each blob is compressed on its own (codec.ts) (so that a restore
 * can fetch one blob with a ranged GET) and appended to the open pack; a pack that reaches the
 * target size is sealed and uploaded, pack first and then its index. `flush()` seals the last pack
 * and waits until every upload is durable. Locations of uploaded blobs go to KnownBlobs.
 */
import type { ObjectStore } from "../objectstore/index";
import { Gate } from "./channel";
import { compressSmall } from "./codec";
import { encodeIndex, keys, sha256 } from "./format";
import type { KnownBlobs } from "./known-blobs";

const MAX_PACKS_IN_FLIGHT = 4;

export interface PackerStats {
  uploadedBytes: number;
  uploadedObjects: number;
}

export class Packer {
  private chunks: Buffer[] = [];
  private blobs: [string, number, number, number][] = [];
  private bytes = 0;
  private readonly pendingHashes = new Set<string>();
  private readonly uploads = new Set<Promise<void>>();
  private readonly compressGate: Gate;
  private readonly compressing = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly objects: ObjectStore,
    private readonly known: KnownBlobs,
    private readonly uploadGate: Gate,
    private readonly stats: PackerStats,
    private readonly targetBytes: number,
    compressConcurrency: number,
  ) {
    this.compressGate = new Gate(compressConcurrency);
  }

  /** True when the blob is already being packed in this snapshot. */
  has(hash: string): boolean {
    return this.pendingHashes.has(hash);
  }

  /** Queues a blob; resolves once it is accepted (compression runs in the background, bounded). */
  async add(hash: string, data: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.pendingHashes.has(hash)) return;
    this.pendingHashes.add(hash);
    // Sealed packs wait in memory for their upload: bound them.
    while (this.uploads.size >= MAX_PACKS_IN_FLIGHT) await Promise.race(this.uploads).catch(() => {});
    await this.compressGate.acquire();
    const task = compressSmall(data)
      .then((compressed) => this.append(hash, compressed, data.length))
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.compressGate.release();
        this.compressing.delete(task);
      });
    this.compressing.add(task);
  }

  private append(hash: string, compressed: Buffer, size: number): void {
    this.blobs.push([hash, this.bytes, compressed.length, size]);
    this.chunks.push(compressed);
    this.bytes += compressed.length;
    if (this.bytes >= this.targetBytes) this.seal();
  }

  private seal(): void {
    if (this.blobs.length === 0) return;
    const pack = Buffer.concat(this.chunks);
    const blobs = this.blobs;
    this.chunks = [];
    this.blobs = [];
    this.bytes = 0;
    const id = sha256(pack);
    const upload = this.uploadGate.run(async () => {
      await this.objects.put(keys.pack(id), pack);
      const index = encodeIndex(blobs);
      await this.objects.put(keys.index(id), index);
      this.stats.uploadedBytes += pack.length + index.length;
      this.stats.uploadedObjects += 2;
      for (const [hash, offset, length, size] of blobs) this.known.set(hash, [id, offset, length, size]);
    });
    const tracked = upload.then(
      () => {
        this.uploads.delete(tracked);
      },
      (error: unknown) => {
        this.failure ??= error;
        this.uploads.delete(tracked);
      },
    );
    this.uploads.add(tracked);
  }

  /** Seals the open pack and waits for every compression and upload; throws the first failure. */
  async flush(): Promise<void> {
    while (this.compressing.size > 0) await Promise.all([...this.compressing]);
    if (this.failure === undefined) this.seal();
    while (this.uploads.size > 0) await Promise.all([...this.uploads]);
    if (this.failure !== undefined) throw this.failure;
  }
}
