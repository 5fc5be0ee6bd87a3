/**
 * Restoring a checkpoint: the manifest is read and checked (hash, then path safety) before
 * anything is written; then dirs, files and, last, symlinks flow to the target through a bounded
 * channel while packs are read in parallel ranged GETs. Every blob is checked against its hash
 * before (small) or as (large) it is written, so a restore either completes with verified content
 * or fails with a clear error.
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

export async function restoreCheckpoint(
  checkpointId: string,
  target: WorkspaceTarget,
  options: RestoreOptions,
  s: RestoreSettings,
): Promise<RestoreResult> {
  const started = performance.now();
  const manifest = await s.readManifest(checkpointId);
  const entries = [...manifest.entries].sort(byPath);
  assertRestorable(entries, checkpointId);
  await target.prepare({ allowNonEmpty: options.allowNonEmpty ?? false });
  // A target that decompresses and checks packed frames itself (on its own threads) gets them as stored.
  const packedWriter = target.packedWriter?.();

  const files = entries.filter((e) => e.type === "file");
  const pathsByHash = new Map<string, ManifestEntry[]>();
  for (const f of files) {
    const list = pathsByHash.get(f.hash!);
    if (list) list.push(f);
    else pathsByHash.set(f.hash!, [f]);
  }
  const progress: RestoreProgress = {
    phase: "download",
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((n, f) => n + f.size, 0),
  };
  let reported = 0;
  const report = (force = true) => {
    if (!options.onProgress || (!force && ++reported % 64 !== 0)) return;
    options.onProgress({ ...progress });
  };
  report();

  const channel = new Channel<Item>(packedWriter ? QUEUE_ITEMS_PACKED : QUEUE_ITEMS);
  // Streams handed to the channel but perhaps never read, if the target stops: destroyed on failure.
  const open = new Set<Readable>();
  const abandon = (error: unknown) => {
    channel.fail(error);
    for (const stream of open) stream.destroy();
  };
  const push = async (item: Item) => {
    if (options.signal?.aborted) throw new Error("Restore aborted");
    await channel.push(item);
    if ("large" in item) {
      progress.filesDone += item.large.entries.length;
      progress.bytesDone += item.large.size * item.large.entries.length;
      report();
    } else if ("packed" in item) {
      for (const frame of item.packed.frames) {
        for (const blob of frame.blobs) {
          progress.filesDone += blob.entries.length;
          progress.bytesDone += blob.size * blob.entries.length;
        }
      }
      report();
    } else if (item.entry.type === "file") {
      progress.filesDone++;
      progress.bytesDone += item.entry.size;
      report(false);
    }
  };
  /** A range as stored, with the entries of each of its blobs, for a packed writer. */
  const packedItem = async (range: PackRange): Promise<Item> => ({
    packed: {
      pack: range.pack,
      start: range.start,
      data: await fetchRange(s.objects, range),
      frames: range.frames.map((f) => ({ ...f, blobs: f.blobs.map((b) => ({ ...b, entries: pathsByHash.get(b.hash)! })) })),
    },
  });

  const produce = async () => {
    const plan = planReads(
      [...pathsByHash.keys()].filter((h) => h !== EMPTY_HASH),
      manifest.locations,
      checkpointId,
    );
    // Downloads start at once, while the target creates the dirs (a second or more of kernel
    // time on 2,000 dirs); their files are pushed only after every dir.
    let dirsPushed!: () => void;
    const dirsDone = new Promise<void>((resolve) => (dirsPushed = resolve));
    // Bounded separately: each large stream holds a decompressor window, each range its bytes.
    // Four ranges keep both cores busy on a local store; eight only added memory (~40 MB).
    const largeGate = new Gate(Math.min(2, s.concurrency));
    const gate = new Gate(Math.min(4, s.concurrency));
    const tasks: Promise<void>[] = [];
    // Large blobs first, largest first: each is one thread's serial work, and the last one to
    // start must not be the one that ends last (the small ranges fill the gaps).
    for (const blob of [...plan.large].sort((a, b) => b.size - a.size)) {
      tasks.push(
        largeGate.run(async () => {
          const entries = pathsByHash.get(blob.hash)!;
          /** Pushes an item whose stream the target reads, and waits until it has read it. */
          const pushRead = async (item: Item, stream: Readable) => {
            open.add(stream);
            const done = new Promise<void>((resolve, reject) => {
              stream.once("end", resolve);
              stream.once("close", resolve);
              stream.once("error", reject);
            });
            // Handled now: the stream may fail while push() still waits for room, and a rejection
            // nobody holds yet would end the process.
            done.catch(() => {});
            try {
              await push(item);
              await done;
            } finally {
              open.delete(stream);
              stream.destroy();
            }
          };
          await dirsDone;
          let stored = await openStoredBlob(s.objects, blob.hash);
          // A packed writer takes zstd as stored (decompressed and checked on its threads).
          if (packedWriter && isZstd(stored.head)) {
            return pushRead({ large: { hash: blob.hash, size: blob.size, entries, stored: stored.stream } }, stored.stream);
          }
          for (const [i, entry] of entries.entries()) {
            if (i > 0) stored = await openStoredBlob(s.objects, blob.hash);
            const content = decompressLargeBlob(stored, blob);
            await pushRead({ entry, content }, content);
          }
        }),
      );
    }
    for (const range of plan.ranges) {
      tasks.push(
        gate.run(async () => {
          if (packedWriter) {
            const item = await packedItem(range);
            await dirsDone;
            return push(item);
          }
          for await (const { hash, data } of readRange(s.objects, range)) {
            await dirsDone;
            for (const entry of pathsByHash.get(hash)!) await push(bufferedItem(entry, data));
          }
        }),
      );
    }
    let dirsFailed: unknown;
    try {
      for (const e of entries) if (e.type === "dir") await push({ entry: e });
      const empty = pathsByHash.get(EMPTY_HASH) ?? [];
      for (const e of empty) await push(bufferedItem(e, Buffer.alloc(0)));
    } catch (error) {
      dirsFailed = error ?? new Error("Restore failed");
    }
    // On failure too: the tasks then fail at their first push, and are all awaited here.
    dirsPushed();
    const results = await Promise.allSettled(tasks);
    if (dirsFailed !== undefined) throw dirsFailed;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    for (const e of entries) if (e.type === "symlink") await push({ entry: e });
  };

  let producerError: unknown;
  const producer = produce().then(
    () => channel.close(),
    (error: unknown) => {
      producerError = error;
      abandon(error);
    },
  );
  try {
    await (packedWriter ? packedWriter(channel) : target.write(channel as AsyncIterable<Exclude<Item, { packed: PackedFiles } | { large: StoredLargeBlob }>>));
  } catch (error) {
    abandon(error);
    await producer;
    // The producer's own failure says more (a blob that failed its check), unless it only failed
    // because the target stopped reading: then the target's error is the cause.
    throw producerError !== undefined && !(producerError instanceof ConsumerStoppedError) ? producerError : error;
  }
  await producer;
  if (producerError !== undefined) throw producerError;

  await target.finish?.();
  progress.phase = "verify";
  report();
  return {
    checkpoint: checkpointId,
    files: files.length,
    dirs: entries.filter((e) => e.type === "dir").length,
    symlinks: entries.filter((e) => e.type === "symlink").length,
    bytes: progress.bytesTotal,
    verifiedFiles: files.length,
    seconds: (performance.now() - started) / 1000,
  };
}
