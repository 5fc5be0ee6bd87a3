/**
 * zstd compression on worker threads. zstd-napi only offers synchronous calls, and a snapshot's
 * main thread is busy reading, hashing and packing, so each chunk (a pack frame, or 1 MB of a
 * large file) is compressed whole on one of these workers: both cores compress, and one large file
 * uses both.
 *
 * The pool is created on first use and shared by every snapshot in the process. Its workers are
 * unref'd while idle, so a process that has nothing else to do still exits. The threads' code is
 * compress-thread.ts.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { compressThread, type CompressData, type CompressReply, type CompressRequest } from "./compress-thread";
import { workerSource } from "./worker-source";
import { zstdResolveFrom } from "./zstd";

/** Built once per process: the thread's code is compressThread's own source (worker-source.ts). */
let source: string | undefined;

/**
 * zstd level 3 (its default). Measured on the bench workspace's 1 MB frames of small files: 21 %
 * of their size at 0.46 s per 200 MB (Brotli quality 2, used before: 22 % at 0.90 s); level 6
 * saves another 2 % of the size for 2.7x the time. Decompression runs at the same speed whatever
 * the level.
 */
export const ZSTD_LEVEL = 3;

/** Input buffers: a pack frame is at most 2 MB, a large file's chunk 1 MB. */
const INPUT_BYTES = 2 * 1024 * 1024;
/** Kept for reuse: the chunks in flight of a snapshot (two frames, two large files at three each). */
const SPARE_INPUTS = 8;

/** Worker limits: a worker only holds the chunk it compresses. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 };

interface Job {
  resolve(data: Buffer): void;
  reject(error: Error): void;
  worker: number;
}

class CompressPool {
  private readonly workers: (Worker | undefined)[];
  private readonly load: number[];
  private readonly jobs = new Map<number, Job>();
  /** Input buffers back from the workers, for the next chunks. */
  private readonly spare: ArrayBuffer[] = [];
  private nextId = 0;

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => undefined);
    this.load = this.workers.map(() => 0);
  }

  /** Starts the thread the first chunk will go to (the least loaded: the first one, while none works). */
  start(): void {
    this.worker(this.load.indexOf(Math.min(...this.load)));
  }

  compress(data: Uint8Array): Promise<Buffer> {
    // The input is copied now, so the caller may reuse its buffer as soon as this returns.
    const spare = this.spare.findIndex((b) => b.byteLength >= data.length);
    const buffer = spare >= 0 ? this.spare.splice(spare, 1)[0]! : new ArrayBuffer(Math.max(data.length, INPUT_BYTES));
    new Uint8Array(buffer).set(data);
    const index = this.load.indexOf(Math.min(...this.load));
    const worker = this.worker(index);
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, worker: index });
      if (this.load[index]!++ === 0) worker.ref();
      worker.postMessage({ id, buffer, length: data.length } satisfies CompressRequest, [buffer]);
    });
  }

  private worker(index: number): Worker {
    const existing = this.workers[index];
    if (existing) return existing;
    source ??= workerSource(compressThread);
    const workerData: CompressData & { zstdFrom: string[] } = { zstdFrom: zstdResolveFrom(), level: ZSTD_LEVEL };
    const worker = new Worker(source, { eval: true, workerData, resourceLimits: WORKER_LIMITS });
    worker.unref();
    worker.on("message", (m: CompressReply) => {
      if (this.spare.length < SPARE_INPUTS) this.spare.push(m.input);
      const job = this.finish(m.id);
      if (!job) return;
      if (m.buffer) job.resolve(Buffer.from(m.buffer));
      else job.reject(new Error(`zstd compression failed: ${m.error}`));
    });
    // A worker that dies fails its own jobs; the next call starts a new one in its place.
    const lost = (error: Error) => {
      if (this.workers[index] !== worker) return;
      this.workers[index] = undefined;
      for (const [id, job] of this.jobs) if (job.worker === index) this.finish(id)?.reject(error);
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`Compression thread exited (${code})`)));
    this.workers[index] = worker;
    return worker;
  }

  private finish(id: number): Job | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.jobs.delete(id);
    if (--this.load[job.worker]! === 0) this.workers[job.worker]?.unref();
    return job;
  }
}

let pool: CompressPool | undefined;

const thePool = () => (pool ??= new CompressPool(Math.max(1, Math.min(4, availableParallelism()))));

/** Compresses one chunk as a zstd frame of its own, on a worker thread. */
export function compressChunk(data: Uint8Array): Promise<Buffer> {
  return thePool().compress(data);
}

/**
 * Starts a compression thread ahead of the first chunk, so that its start-up (some 60 ms: a
 * thread, its isolate, zstd-napi) runs beside the caller's work instead of before the first
 * frame. Idle, it is unref'd like any other, and it is only ever started once per process.
 */
export function startCompressionThread(): void {
  thePool().start();
}
