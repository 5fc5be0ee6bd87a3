/**
 * Restoring a checkpoint: the manifest is read and checked (hash, then path safety) before
 * anything is written; then dirs, files and, last, symlinks flow to the target through a bounded
 * channel while packs are read in parallel ranged GETs. Every blob is checked against its hash
 * before (small) or as (large) it is written, so a restore either completes with verified content
 * or fails with a clear error.
 *
 * The pieces, in the order a restore runs them: planRestore (read and check the manifest, group
 * files by content), RestoreQueue (the bounded channel to the target, with progress and the
 * streams to destroy on failure), the producers (pushLargeBlob, pushRange, pushDirs, then the
 * symlinks: produce), and drainInto (the target reads the queue; the first real error wins).
 */
import { Readable } from "node:stream";
import type { ObjectStore } from "../../objectstore/types";
import { Channel, ConsumerStoppedError, Gate } from "../channel";
import { EMPTY_HASH, type Manifest } from "../repo/format";
import { decompressLargeBlob, fetchRange, openStoredBlob, planReads, readRange, type PackRange } from "../repo/blob-reader";
import { isZstd } from "../repo/zstd";
import { assertRestorable, byPath } from "../repo/paths";
import type { ManifestEntry, PackedFiles, RestoreOptions, RestoreProgress, RestoreResult, StoredLargeBlob, WorkspaceTarget } from "../types";

export interface RestoreSettings {
  objects: ObjectStore;
  concurrency: number;
  readManifest(id: string): Promise<Manifest>;
}

/** `data` (checked bytes of a small file) lets a local target skip the stream; others read `content`. */
type Item = { entry: ManifestEntry; content?: Readable; data?: Buffer } | { packed: PackedFiles } | { large: StoredLargeBlob };

/**
 * Items queued for the target. A packed range is up to 2 MB of compressed frames, so with a
 * packed writer the queue is short: memory stays bounded when the target writes slower than
 * ranges arrive.
 */
const QUEUE_ITEMS = 256;
const QUEUE_ITEMS_PACKED = 4;

function bufferedItem(entry: ManifestEntry, data: Buffer): Item {
  return {
    entry,
    data,
    get content() {
      return Readable.from([data]);
    },
  };
}

/** What a restore needs from the manifest, read and checked before anything is written. */
interface RestorePlan {
  checkpointId: string;
  manifest: Manifest;
  /** Sorted by path: dirs come before their children. */
  entries: ManifestEntry[];
  files: ManifestEntry[];
  /** Every file entry of each content hash (one download serves them all). */
  pathsByHash: Map<string, ManifestEntry[]>;
}

async function planRestore(checkpointId: string, s: RestoreSettings): Promise<RestorePlan> {
  const manifest = await s.readManifest(checkpointId);
  const entries = [...manifest.entries].sort(byPath);
  assertRestorable(entries, checkpointId);
  const files = entries.filter((e) => e.type === "file");
  const pathsByHash = new Map<string, ManifestEntry[]>();
  for (const f of files) {
    const list = pathsByHash.get(f.hash!);
    if (list) list.push(f);
    else pathsByHash.set(f.hash!, [f]);
  }
  return { checkpointId, manifest, entries, files, pathsByHash };
}

/** The bounded channel to the target, counting progress as items go in. */
class RestoreQueue {
  readonly channel: Channel<Item>;
  readonly progress: RestoreProgress;
  /** Streams handed to the channel but perhaps never read, if the target stops: destroyed on failure. */
  private readonly open = new Set<Readable>();
  private reported = 0;

  constructor(
    plan: RestorePlan,
    packed: boolean,
    private readonly options: RestoreOptions,
  ) {
    this.channel = new Channel<Item>(packed ? QUEUE_ITEMS_PACKED : QUEUE_ITEMS);
    this.progress = {
      phase: "download",
      filesDone: 0,
      filesTotal: plan.files.length,
      bytesDone: 0,
      bytesTotal: plan.files.reduce((n, f) => n + f.size, 0),
    };
  }

  /** Every item of a large blob or a packed range reports; single files every 64th. */
  report(force = true): void {
    if (!this.options.onProgress || (!force && ++this.reported % 64 !== 0)) return;
    this.options.onProgress({ ...this.progress });
  }

  async push(item: Item): Promise<void> {
    if (this.options.signal?.aborted) throw new Error("Restore aborted");
    await this.channel.push(item);
    const p = this.progress;
    if ("large" in item) {
      p.filesDone += item.large.entries.length;
      p.bytesDone += item.large.size * item.large.entries.length;
      this.report();
    } else if ("packed" in item) {
      for (const frame of item.packed.frames) {
        for (const blob of frame.blobs) {
          p.filesDone += blob.entries.length;
          p.bytesDone += blob.size * blob.entries.length;
        }
      }
      this.report();
    } else if (item.entry.type === "file") {
      p.filesDone++;
      p.bytesDone += item.entry.size;
      this.report(false);
    }
  }

  /** Pushes an item whose stream the target reads, and waits until it has read it. */
  async pushRead(item: Item, stream: Readable): Promise<void> {
    this.open.add(stream);
    const done = new Promise<void>((resolve, reject) => {
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", reject);
    });
    // Handled now: the stream may fail while push() still waits for room, and a rejection
    // nobody holds yet would end the process.
    done.catch(() => {});
    try {
      await this.push(item);
      await done;
    } finally {
      this.open.delete(stream);
      stream.destroy();
    }
  }

  abandon(error: unknown): void {
    this.channel.fail(error);
    for (const stream of this.open) stream.destroy();
  }
}

/** What the producers share: the plan, the queue, the store, and when every dir is queued. */
interface Producer {
  plan: RestorePlan;
  queue: RestoreQueue;
  s: RestoreSettings;
  packed: boolean;
  dirsDone: Promise<void>;
}

/** One large blob: as stored (zstd) to a packed writer, else decompressed and checked, once per path. */
async function pushLargeBlob(p: Producer, blob: { hash: string; size: number }): Promise<void> {
  const entries = p.plan.pathsByHash.get(blob.hash)!;
  await p.dirsDone;
  let stored = await openStoredBlob(p.s.objects, blob.hash);
  // A packed writer takes zstd as stored (decompressed and checked on its threads).
  if (p.packed && isZstd(stored.head)) {
    return p.queue.pushRead({ large: { hash: blob.hash, size: blob.size, entries, stored: stored.stream } }, stored.stream);
  }
  for (const [i, entry] of entries.entries()) {
    if (i > 0) stored = await openStoredBlob(p.s.objects, blob.hash);
    const content = decompressLargeBlob(stored, blob);
    await p.queue.pushRead({ entry, content }, content);
  }
}

/** One ranged GET of a pack: as stored, with each blob's entries, to a packed writer; else blob by blob, checked. */
async function pushRange(p: Producer, range: PackRange): Promise<void> {
  if (p.packed) {
    const item: Item = {
      packed: {
        pack: range.pack,
        start: range.start,
        data: await fetchRange(p.s.objects, range),
        frames: range.frames.map((f) => ({ ...f, blobs: f.blobs.map((b) => ({ ...b, entries: p.plan.pathsByHash.get(b.hash)! })) })),
      },
    };
    await p.dirsDone;
    return p.queue.push(item);
  }
  for await (const { hash, data } of readRange(p.s.objects, range)) {
    await p.dirsDone;
    for (const entry of p.plan.pathsByHash.get(hash)!) await p.queue.push(bufferedItem(entry, data));
  }
}

/** Every dir (parents first), then the empty files, which need no download. */
async function pushDirs(p: Producer): Promise<void> {
  for (const e of p.plan.entries) if (e.type === "dir") await p.queue.push({ entry: e });
  for (const e of p.plan.pathsByHash.get(EMPTY_HASH) ?? []) await p.queue.push(bufferedItem(e, Buffer.alloc(0)));
}

/** Queues the whole checkpoint: downloads in parallel, dirs first, symlinks last. */
async function produce(plan: RestorePlan, queue: RestoreQueue, s: RestoreSettings, packed: boolean): Promise<void> {
  const reads = planReads(
    [...plan.pathsByHash.keys()].filter((h) => h !== EMPTY_HASH),
    plan.manifest.locations,
    plan.checkpointId,
  );
  // Downloads start at once, while the target creates the dirs (a second or more of kernel
  // time on 2,000 dirs); their files are pushed only after every dir.
  let dirsPushed!: () => void;
  const p: Producer = { plan, queue, s, packed, dirsDone: new Promise<void>((resolve) => (dirsPushed = resolve)) };
  // Bounded separately: each large stream holds a decompressor window, each range its bytes.
  // Four ranges keep both cores busy on a local store; eight only added memory (~40 MB).
  const largeGate = new Gate(Math.min(2, s.concurrency));
  const gate = new Gate(Math.min(4, s.concurrency));
  // Large blobs first, largest first: each is one thread's serial work, and the last one to
  // start must not be the one that ends last (the small ranges fill the gaps).
  const tasks: Promise<void>[] = [
    ...[...reads.large].sort((a, b) => b.size - a.size).map((blob) => largeGate.run(() => pushLargeBlob(p, blob))),
    ...reads.ranges.map((range) => gate.run(() => pushRange(p, range))),
  ];
  let dirsFailed: unknown;
  try {
    await pushDirs(p);
  } catch (error) {
    dirsFailed = error ?? new Error("Restore failed");
  }
  // On failure too: the tasks then fail at their first push, and are all awaited here.
  dirsPushed();
  const results = await Promise.allSettled(tasks);
  if (dirsFailed !== undefined) throw dirsFailed;
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  for (const e of plan.entries) if (e.type === "symlink") await queue.push({ entry: e });
}

/** The target reads the queue while `produce` fills it; the first real error wins. */
async function drainInto(
  target: WorkspaceTarget,
  packedWriter: ReturnType<NonNullable<WorkspaceTarget["packedWriter"]>> | undefined,
  queue: RestoreQueue,
  fill: () => Promise<void>,
): Promise<void> {
  let producerError: unknown;
  const producer = fill().then(
    () => queue.channel.close(),
    (error: unknown) => {
      producerError = error;
      queue.abandon(error);
    },
  );
  try {
    await (packedWriter
      ? packedWriter(queue.channel)
      : target.write(queue.channel as AsyncIterable<Exclude<Item, { packed: PackedFiles } | { large: StoredLargeBlob }>>));
  } catch (error) {
    queue.abandon(error);
    await producer;
    // The producer's own failure says more (a blob that failed its check), unless it only failed
    // because the target stopped reading: then the target's error is the cause.
    throw producerError !== undefined && !(producerError instanceof ConsumerStoppedError) ? producerError : error;
  }
  await producer;
  if (producerError !== undefined) throw producerError;
}

export async function restoreCheckpoint(
  checkpointId: string,
  target: WorkspaceTarget,
  options: RestoreOptions,
  s: RestoreSettings,
): Promise<RestoreResult> {
  const started = performance.now();
  const plan = await planRestore(checkpointId, s);
  await target.prepare({ allowNonEmpty: options.allowNonEmpty ?? false });
  // A target that decompresses and checks packed frames itself (on its own threads) gets them as stored.
  const packedWriter = target.packedWriter?.();
  const queue = new RestoreQueue(plan, packedWriter !== undefined, options);
  queue.report();
  await drainInto(target, packedWriter, queue, () => produce(plan, queue, s, packedWriter !== undefined));
  await target.finish?.();
  queue.progress.phase = "verify";
  queue.report();
  return {
    checkpoint: checkpointId,
    files: plan.files.length,
    dirs: plan.entries.filter((e) => e.type === "dir").length,
    symlinks: plan.entries.filter((e) => e.type === "symlink").length,
    bytes: queue.progress.bytesTotal,
    verifiedFiles: plan.files.length,
    seconds: (performance.now() - started) / 1000,
  };
}
