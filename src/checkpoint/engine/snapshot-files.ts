/**
 * Reading, hashing and storing the files a snapshot has to read. Two ways:
 * - streamed (any WorkspaceSource): one `readFiles` pass, large files first; a small file is
 *   collected and copied into the packer, a large one is compressed to a temp file (up to two
 *   at a time) while the pass goes on.
 * - in place (a source with `InPlaceReads`, such as the local folder): small files are read
 *   straight into the packer's open frame, hashed there and, if new, kept there (no Buffer per
 *   file), and they are read at the same time as the large files, instead of after them (the
 *   large files alone took the first 40 % of a full snapshot of the bench workspace, with one
 *   core idle). Large files are read in chunks into reused buffers (repo/large-blobs.ts).
 * Every file read gets its hash and its size as read; duplicates (already packed in this
 * snapshot, or already in the bucket) are not stored again.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";
import { TorporError } from "../../core/errors";
import { Gate } from "../channel";
import type { KnownBlobs } from "../repo/known-blobs";
import { type LargeBlobContext, storeLargeBlob, storeLargeFile } from "../repo/large-blobs";
import type { Packer } from "../repo/packer";
import type { InPlaceReads, ManifestEntry, WorkspaceSource } from "../types";

/** What storeFiles works with: the source, the snapshot's entries, packer and blob stores. */
export interface StoreFilesContext {
  source: WorkspaceSource & Partial<InPlaceReads>;
  byPath: Map<string, ManifestEntry>;
  packer: Packer;
  known: KnownBlobs;
  large: LargeBlobContext;
  smallFileBytes: number;
  /** Throws once the snapshot is aborted. */
  checkAbort(): void;
  /** One more file read (with the size the scan saw). */
  countDone(scannedSize: number): void;
  /** Upload of each new large blob, to await before the commit. */
  largeUploads: Promise<void>[];
}

/** Set when one of two concurrent passes failed: the other one stops at its next file. */
interface Halt {
  stopped: boolean;
}

/** The event loop gets a turn after this many in-place reads (streams and uploads progress). */
const YIELD_EVERY = 8;
/**
 * The open pack is sealed when this much is left to read in place, so that the pack uploaded
 * after the last read is small: a 16 MB one took 90-100 ms, alone at the end of the snapshot.
 */
const LAST_PACK_RAW_BYTES = 8 * 1024 * 1024;

/** Reads and stores `entries` (all without a hash yet); resolves once each has its hash. */
export async function storeFiles(entries: ManifestEntry[], ctx: StoreFilesContext): Promise<void> {
  // Large files first, largest first: their compression is the longest serial work, and it
  // then overlaps with the packing of all the small files instead of trailing behind it.
  const large = entries.filter((e) => e.size > ctx.smallFileBytes).sort((a, b) => b.size - a.size);
  const small = entries.filter((e) => e.size <= ctx.smallFileBytes);
  const halt: Halt = { stopped: false };
  const source = ctx.source;
  if (!source.readInto || !source.openFile) {
    await streamFiles([...large, ...small], ctx, halt);
    return;
  }
  const readInto = source.readInto.bind(source);
  // Files whose size moved across smallFileBytes since the scan: streamed once both passes are done.
  const rerouted: ManifestEntry[] = [];
  const passes = [storeLargeFiles(large, source.openFile.bind(source), ctx, halt, rerouted), packInPlace(small, readInto, ctx, halt, rerouted)].map((pass) =>
    pass.catch((error: unknown) => {
      halt.stopped = true;
      throw error;
    }),
  );
  const results = await Promise.allSettled(passes);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  if (rerouted.length > 0) await streamFiles(rerouted, ctx, halt);
}

/**
 * The in-place pass. It is the only writer of the packer while it runs (the large-file pass
 * leaves a file that shrank for later instead of packing it), so a reserved slot stays valid
 * across the awaits between read and commit.
 */
async function packInPlace(entries: ManifestEntry[], readInto: InPlaceReads["readInto"], ctx: StoreFilesContext, halt: Halt, rerouted: ManifestEntry[]): Promise<void> {
  const { packer, known } = ctx;
  let sinceYield = 0;
  let left = entries.reduce((n, e) => n + e.size, 0);
  let sealed = left <= LAST_PACK_RAW_BYTES;
  for (const entry of entries) {
    if (halt.stopped) return;
    ctx.checkAbort();
    const scannedSize = entry.size;
    left -= scannedSize;
    const slot = await packer.reserve(entry.size);
    try {
      const size = readInto(entry.path, slot.buffer, slot.offset, Math.min(slot.room, ctx.smallFileBytes));
      if (size < 0) {
        packer.cancel();
        rerouted.push(entry);
        continue;
      }
      const hash = createHash("sha256")
        .update(slot.buffer.subarray(slot.offset, slot.offset + size))
        .digest("hex");
      if (packer.has(hash) || (await known.hasSmall(hash))) packer.cancel();
      else await packer.commit(hash, size);
      entry.hash = hash;
      entry.size = size;
      ctx.countDone(scannedSize);
    } catch (error) {
      packer.cancel();
      throw error;
    }
    if (!sealed && left <= LAST_PACK_RAW_BYTES) {
      sealed = true;
      await packer.sealNow();
    }
    // Reads are synchronous: without a turn now and then, the large files' reads and
    // compressions, and the uploads, would wait until the next frame has to wait for a compression.
    if (++sinceYield === YIELD_EVERY) {
      sinceYield = 0;
      await nextTurn();
    }
  }
}

/**
 * The large files of an in-place source, two at a time (each compression is one thread's serial
 * work). A file that is small by now is left for later, like in streamFiles.
 */
async function storeLargeFiles(entries: ManifestEntry[], openFile: InPlaceReads["openFile"], ctx: StoreFilesContext, halt: Halt, rerouted: ManifestEntry[]): Promise<void> {
  const gate = new Gate(2);
  const reads: Promise<void>[] = [];
  try {
    for (const entry of entries) {
      await gate.acquire();
      if (halt.stopped) {
        gate.release();
        break;
      }
      ctx.checkAbort();
      const task = storeOneLarge(entry, openFile, ctx, rerouted)
        .catch((error: unknown) => {
          halt.stopped = true;
          throw error;
        })
        .finally(() => gate.release());
      task.catch(() => {}); // awaited below, once the pass is over
      reads.push(task);
    }
  } finally {
    // Nothing of this pass may still run once it returned or threw (the temp folder goes next).
    await Promise.allSettled(reads);
  }
  await Promise.all(reads);
}

async function storeOneLarge(entry: ManifestEntry, openFile: InPlaceReads["openFile"], ctx: StoreFilesContext, rerouted: ManifestEntry[]): Promise<void> {
  const scannedSize = entry.size;
  const file = await openFile(entry.path);
  let stored: Awaited<ReturnType<typeof storeLargeFile>>;
  try {
    if (file.size <= ctx.smallFileBytes) {
      rerouted.push(entry);
      return;
    }
    stored = await storeLargeFile(file, ctx.large);
  } finally {
    await file.close();
  }
  entry.hash = stored.hash;
  entry.size = stored.size;
  ctx.largeUploads.push(stored.upload);
  ctx.countDone(scannedSize);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * The streamed pass. Large files are compressed two at a time while the pass goes on; it
 * returns once all of them are read.
 */
async function streamFiles(entries: ManifestEntry[], ctx: StoreFilesContext, halt: Halt): Promise<void> {
  if (entries.length === 0) return;
  const largeReads: Promise<void>[] = [];
  const largeGate = new Gate(2);
  try {
    for await (const item of ctx.source.readFiles(entries.map((e) => e.path))) {
      const data = (item as { data?: Buffer }).data;
      // A local source's small files come as `data`: their stream is made on demand only.
      const drop = () => {
        if (data === undefined) item.stream.destroy();
      };
      if (halt.stopped) {
        drop();
        break;
      }
      ctx.checkAbort();
      const entry = ctx.byPath.get(item.path);
      if (!entry || entry.hash !== undefined) {
        drop();
        throw new TorporError("INTERNAL", `Source returned an unexpected file '${item.path}'`);
      }
      const scannedSize = entry.size;
      if (item.size <= ctx.smallFileBytes) {
        const buf = data ?? (await collect(item.stream));
        const hash = createHash("sha256").update(buf).digest("hex");
        if (!ctx.packer.has(hash) && !(await ctx.known.hasSmall(hash))) await ctx.packer.add(hash, buf);
        entry.hash = hash;
        entry.size = buf.length;
        ctx.countDone(scannedSize);
        continue;
      }
      // Compressing a large file takes a while: keep reading (and packing) others meanwhile.
      await largeGate.acquire();
      const task = storeLargeBlob(item.stream, ctx.large)
        .then(({ hash, size, upload }) => {
          entry.hash = hash;
          entry.size = size;
          ctx.largeUploads.push(upload);
          ctx.countDone(scannedSize);
        })
        .catch((error: unknown) => {
          halt.stopped = true;
          throw error;
        })
        .finally(() => largeGate.release());
      task.catch(() => {}); // awaited below, once the pass is over
      largeReads.push(task);
    }
  } finally {
    // Nothing of this pass may still run once it returned or threw (the temp folder goes next).
    await Promise.allSettled(largeReads);
  }
  await Promise.all(largeReads);
}
