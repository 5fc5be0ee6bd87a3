/**
 * Groups small blobs into packs of frames: blobs are appended to the open frame; a frame of about
 * FRAME_BYTES is compressed as a unit (in the background, bounded) and appended to the open pack;
 * a pack that reaches the target size is sealed and uploaded, pack first and then its index.
 * `flush()` closes the last frame and pack and waits until every upload is durable. Locations of
 * uploaded blobs go to KnownBlobs.
 */
import type { ObjectStore } from "../objectstore/index";
import { Gate } from "./channel";
import { compressFrame } from "./codec";
import { encodeIndex, type IndexEntry, keys, sha256 } from "./format";
import type { KnownBlobs } from "./known-blobs";

const FRAME_BYTES = 1024 * 1024;
const MAX_PACKS_IN_FLIGHT = 2;

export interface PackerStats {
  uploadedBytes: number;
  uploadedObjects: number;
}

export class Packer {
  private frame: Buffer[] = [];
  private frameBlobs: { hash: string; rawOffset: number; size: number }[] = [];
  private frameBytes = 0;
  private chunks: Buffer[] = [];
  private blobs: IndexEntry[] = [];
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

  /** Queues a blob; waits only when too much compression or upload work is pending. */
  async add(hash: string, data: Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.pendingHashes.has(hash)) return;
    this.pendingHashes.add(hash);
    this.frameBlobs.push({ hash, rawOffset: this.frameBytes, size: data.length });
    this.frame.push(data);
    this.frameBytes += data.length;
    if (this.frameBytes >= FRAME_BYTES) await this.closeFrame();
  }

  private async closeFrame(): Promise<void> {
    if (this.frameBlobs.length === 0) return;
    const raw = this.frame.length === 1 ? this.frame[0]! : Buffer.concat(this.frame);
    const blobs = this.frameBlobs;
    this.frame = [];
    this.frameBlobs = [];
    this.frameBytes = 0;
    // Sealed packs wait in memory for their upload: bound them.
    while (this.uploads.size >= MAX_PACKS_IN_FLIGHT) await Promise.race(this.uploads).catch(() => {});
    await this.compressGate.acquire();
    const task = compressFrame(raw)
      .then((compressed) => this.append(compressed, blobs))
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.compressGate.release();
        this.compressing.delete(task);
      });
    this.compressing.add(task);
  }

  private append(compressed: Buffer, blobs: { hash: string; rawOffset: number; size: number }[]): void {
    for (const b of blobs) this.blobs.push([b.hash, this.bytes, compressed.length, b.rawOffset, b.size]);
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
      for (const [hash, offset, length, rawOffset, size] of blobs) this.known.set(hash, [id, offset, length, rawOffset, size]);
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

  /** Closes the open frame and pack and waits for every compression and upload; throws the first failure. */
  async flush(): Promise<void> {
    await this.closeFrame();
    while (this.compressing.size > 0) await Promise.all([...this.compressing]);
    if (this.failure === undefined) this.seal();
    while (this.uploads.size > 0) await Promise.all([...this.uploads]);
    if (this.failure !== undefined) throw this.failure;
  }
}
