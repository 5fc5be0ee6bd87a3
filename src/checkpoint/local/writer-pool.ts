/**
 * Writing restored files on worker threads (their code: writer-thread.ts; their messages:
 * writer-protocol.ts). Creating a file is mostly kernel time (on ext4,
 * inode allocation; profiled on the bench workspace it was two thirds of a restore's CPU time) and
 * synchronous syscalls on the main thread use one core only. Here files are batched (their bytes
 * copied into one transferred buffer, so a batch costs one message each way) and each worker
 * creates its batch's files with synchronous syscalls, so both cores create files while the main
 * thread fetches, decompresses and checks the next frames.
 *
 * Only new files in an empty target come here: they are created exclusively ("wx"), so a worker
 * never writes through anything that was already in the folder. Content was checked by the engine
 * before it is handed over.
 */
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { MAX_FRAME_BYTES } from "../repo/frame-checks";
import { workerSource } from "../repo/worker-source";
import { zstdResolveFrom } from "../repo/zstd";
import type { FileJob, FrameJob, LargeMessage, WriterData, WriterError, WriterReply, WriterRequest } from "./writer-protocol";
import { fileWriterThread } from "./writer-thread";
import { writerFailure, type Batch, type FileWriteError, type LargeBatch, type PackedBatch, type PackedContentError } from "./writer-batches";

export { FileWriteError, PackedContentError, type LargeBatch, type PackedBatch } from "./writer-batches";

/** Built once per process: the threads' code is fileWriterThread's own source (repo/worker-source.ts). */
let source: string | undefined;

/**
 * A worker only holds one batch's paths at a time, so small heap limits cost nothing (no speed
 * difference measured) and bound what two more V8 heaps can add to the process's peak RSS.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 };

/** A batch is sent when it holds this many bytes or files: few messages, little memory held. */
const BATCH_BYTES = 1024 * 1024;
const BATCH_FILES = 128;
/** Buffers kept for reuse: the batches and ranges in flight (two per worker) plus one being filled. */
const SPARE_BUFFERS = 6;
/** A large blob goes to its worker in messages of about this many stored bytes. */
const LARGE_MESSAGE = 1024 * 1024;

export class FileWriterPool {
  private readonly workers: Worker[];
  private readonly busy: number[];
  /** Batch id → the worker writing it. */
  private readonly pending = new Map<number, number>();
  /** Packed batch id → its pack and range start (pack "" for a large blob), to name a problem the worker reports. */
  private readonly packedBatches = new Map<number, { pack: string; start: number }>();
  private readonly exited: boolean[];
  /** Large blobs being given up, by id: resolved once their worker has closed their files. */
  private readonly aborts = new Map<number, { worker: number; resolve(): void }>();
  private closing = false;
  private readonly waiters: (() => void)[] = [];
  /** Batch buffers back from the workers, reused. */
  private readonly spare: ArrayBuffer[] = [];
  private batch: Batch | undefined;
  private nextId = 0;
  private failure: FileWriteError | PackedContentError | Error | undefined;

  /** `perWorker`: batches queued per worker, so a worker never waits for the main thread. */
  constructor(
    size: number,
    private readonly umask: number,
    private readonly perWorker = 2,
  ) {
    source ??= workerSource(fileWriterThread);
    const workerData: WriterData & { zstdFrom: string[] } = { zstdFrom: zstdResolveFrom(), maxFrameBytes: MAX_FRAME_BYTES };
    this.workers = Array.from({ length: size }, () => new Worker(source!, { eval: true, workerData, resourceLimits: WORKER_LIMITS }));
    this.busy = this.workers.map(() => 0);
    this.exited = this.workers.map(() => false);
    this.workers.forEach((worker, index) => {
      worker.on("message", (m: WriterReply) => {
        if (m.kind === "aborted") return this.settleAbort(m.large);
        // A few of the pool's own buffers are kept for reuse (a range's buffer is its own size).
        if (m.buffer.byteLength >= 2 * BATCH_BYTES && this.spare.length < SPARE_BUFFERS) this.spare.push(m.buffer);
        this.done(m.id, m.error);
      });
      worker.on("error", (error) => this.fail(error));
      worker.on("exit", (code) => {
        this.exited[index] = true;
        for (const [large, abort] of this.aborts) if (abort.worker === index) this.settleAbort(large);
        if (!this.closing && (code !== 0 || this.busy[index]! > 0)) this.fail(new Error(`File writer thread exited (${code})`));
      });
    });
  }

  /** The first error of any batch; the caller stops adding files once it is set. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Queues one file; resolves once the queue has room again (backpressure). */
  async add(abs: string, data: Buffer, mode: number, mtimeSeconds: number): Promise<void> {
    if (this.failure) throw this.failure;
    const batch = (this.batch ??= {
      id: this.nextId++,
      parts: [],
      bytes: 0,
      files: [],
    });
    batch.files.push([abs, batch.bytes, data.length, mode, mtimeSeconds]);
    if (data.length > 0) batch.parts.push(data);
    batch.bytes += data.length;
    if (batch.bytes >= BATCH_BYTES || batch.files.length >= BATCH_FILES) await this.send();
  }

  /** Sends what is queued and waits until every file so far is written (or one failed). */
  async drain(): Promise<void> {
    if (this.batch) await this.send();
    while (this.pending.size > 0 && !this.failure) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure;
  }

  /** Ends the threads once they have finished their messages (closing files a failure left open). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(async (worker, index) => {
        if (this.exited[index]) return;
        const exit = once(worker, "exit");
        this.post(worker, { kind: "shutdown" });
        await exit;
      }),
    );
  }

  /**
   * Creates dirs (sorted parents first), one depth level at a time split over the workers: a
   * level's parents all exist before it starts. A mkdir costs as much kernel time as a file create.
   */
  async mkdirs(paths: string[], mode: number): Promise<void> {
    if (this.batch) await this.send();
    const levels = new Map<number, string[]>();
    for (const p of paths) {
      const depth = p.split("/").length;
      const level = levels.get(depth);
      if (level) level.push(p);
      else levels.set(depth, [p]);
    }
    for (const depth of [...levels.keys()].sort((a, b) => a - b)) {
      const level = levels.get(depth)!;
      const per = Math.ceil(level.length / this.workers.length);
      for (let i = 0; i < level.length; i += per) {
        this.batch = { id: this.nextId++, parts: [], bytes: 0, files: level.slice(i, i + per).map((p): FileJob => [p, 0, -1, mode, 0]) };
        await this.send();
      }
      await this.drain();
    }
  }

  /**
   * Queues a pack range: a worker decompresses its frames, checks each blob's size and SHA-256 and
   * only then creates the blob's files. The range's bytes are moved to the worker, not copied,
   * when the Buffer owns its whole ArrayBuffer.
   */
  async addPacked(range: PackedBatch): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.batch) await this.send();
    const data = range.data;
    let buffer: ArrayBuffer;
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
      buffer = data.buffer;
    } else {
      buffer = this.takeSpare(data.length);
      new Uint8Array(buffer).set(data);
    }
    const frames = range.frames.map((f): FrameJob => [
      f.offset - range.start,
      f.length,
      f.blobs.map((b) => [b.hash, b.rawOffset, b.size, b.files.map((file) => [file.abs, file.mode, file.mtimeSeconds])]),
    ]);
    const id = this.nextId++;
    this.packedBatches.set(id, { pack: range.pack, start: range.start });
    await this.dispatch({ kind: "packed", id, buffer, length: data.length, frames, umask: this.umask });
  }

  /**
   * Sends a large blob's stored bytes (zstd) to one worker, in order, as they arrive: it
   * decompresses them, creates and writes the files, and checks size and SHA-256 at the end
   * (before mode and mtime are set). Resolves once the last bytes are sent; a problem surfaces
   * as the pool's error, like a batch's.
   */
  async addLarge(blob: LargeBatch): Promise<void> {
    if (this.failure) throw this.failure;
    const large = this.nextId++;
    const worker = this.idlest();
    const files = blob.files.map((f): [string, number, number] => [f.abs, f.mode, f.mtimeSeconds]);
    let parts: Buffer[] = [];
    let bytes = 0;
    let sent = 0;
    const flush = async (last: boolean) => {
      const buffer = this.takeSpare(bytes);
      const view = new Uint8Array(buffer);
      let at = 0;
      for (const part of parts) {
        view.set(part, at);
        at += part.length;
      }
      const message: LargeMessage = { kind: "large", id: this.nextId++, large, buffer, length: bytes, files: sent === 0 ? files : undefined, hash: blob.hash, size: blob.size, last, umask: this.umask };
      parts = [];
      bytes = 0;
      sent++;
      this.packedBatches.set(message.id, { pack: "", start: 0 });
      await this.dispatch(message, worker);
    };
    let done = false;
    try {
      for await (const chunk of blob.stored) {
        if (this.failure) throw this.failure;
        parts.push(chunk);
        bytes += chunk.length;
        if (bytes >= LARGE_MESSAGE) await flush(false);
      }
      await flush(true);
      done = true;
    } finally {
      // Files the worker opened for a blob that will not be finished are closed there, now.
      if (!done && sent > 0 && !this.exited[worker]) {
        await new Promise<void>((resolve) => {
          this.aborts.set(large, { worker, resolve });
          this.post(this.workers[worker]!, { kind: "abortLarge", large });
        });
      }
    }
  }

  private settleAbort(large: number): void {
    this.aborts.get(large)?.resolve();
    this.aborts.delete(large);
  }

  private async send(): Promise<void> {
    const batch = this.batch!;
    this.batch = undefined;
    // Transferred (not cloned) to the worker, and back. A batch never exceeds two BATCH_BYTES
    // (it is sent once it reaches BATCH_BYTES, and the last file added is a small file).
    const buffer = batch.bytes === 0 ? new ArrayBuffer(0) : this.takeSpare(batch.bytes);
    const view = new Uint8Array(buffer);
    let at = 0;
    for (const part of batch.parts) {
      view.set(part, at);
      at += part.length;
    }
    await this.dispatch({ kind: "files", id: batch.id, buffer, length: batch.bytes, files: batch.files, umask: this.umask });
  }

  /** A recycled buffer of at least `bytes`, or a new one. */
  private takeSpare(bytes: number): ArrayBuffer {
    const index = this.spare.findIndex((b) => b.byteLength >= bytes);
    return index >= 0 ? this.spare.splice(index, 1)[0]! : new ArrayBuffer(Math.max(bytes, 2 * BATCH_BYTES));
  }

  /** Sends one batch to the idlest worker (or to `to`) once it has room (backpressure). */
  private async dispatch(message: Exclude<WriterRequest, { kind: "abortLarge" | "shutdown" }>, to?: number): Promise<void> {
    const { id, buffer } = message;
    let worker = to ?? this.idlest();
    while (this.busy[worker]! >= this.perWorker && !this.failure) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      worker = to ?? this.idlest();
    }
    if (this.failure) throw this.failure;
    this.busy[worker]!++;
    this.pending.set(id, worker);
    this.post(this.workers[worker]!, message, buffer.byteLength > 0 ? [buffer] : []);
  }

  private post(worker: Worker, message: WriterRequest, transfer: ArrayBuffer[] = []): void {
    worker.postMessage(message, transfer);
  }

  private idlest(): number {
    let best = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[best]!) best = i;
    return best;
  }

  private done(id: number, error: WriterError | null): void {
    const worker = this.pending.get(id);
    if (worker !== undefined) {
      this.pending.delete(id);
      this.busy[worker]!--;
    }
    const packed = this.packedBatches.get(id);
    this.packedBatches.delete(id);
    if (error) this.fail(writerFailure(error, packed));
    this.wakeAll();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
