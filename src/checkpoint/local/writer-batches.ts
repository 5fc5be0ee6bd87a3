/**
 * What the target hands the writer pool (writer-pool.ts) and what the pool reports back: a packed
 * batch (a pack range whose frames the threads decompress into files), a large blob as stored,
 * and the two errors a thread can report (content that does not match its hash, a file that
 * could not be written). Apart from the pool so that the target and the tests name these terms
 * without the pool's thread machinery.
 */
import type { FileJob, WriterError } from "./writer-protocol";

/** The small files being gathered for one message to a thread (their bytes in `parts`). */
export interface Batch {
  id: number;
  parts: Buffer[];
  bytes: number;
  files: FileJob[];
}

/** A pack range for the workers: frame offsets are in the pack, `data` starts at `start`. */
export interface PackedBatch {
  pack: string;
  start: number;
  data: Buffer;
  frames: { offset: number; length: number; blobs: { hash: string; rawOffset: number; size: number; files: { abs: string; mode: number; mtimeSeconds: number }[] }[] }[];
}

/** A large blob as stored (zstd frames): a worker decompresses it, checks it and writes every file. */
export interface LargeBatch {
  hash: string;
  size: number;
  files: { abs: string; mode: number; mtimeSeconds: number }[];
  stored: AsyncIterable<Buffer>;
}

/**
 * What a worker found wrong in a packed range or a large blob (`pack` ""): the engine turns it
 * into its IntegrityError. `where` names it as the engine's own checks do.
 */
export class PackedContentError extends Error {
  readonly where: string;

  constructor(
    readonly pack: string,
    readonly frame: number,
    readonly blob: string | undefined,
    readonly problem: string,
  ) {
    const where = pack === "" ? `Blob ${blob}` : `Pack ${pack}, ${blob ? `blob ${blob}` : `frame at ${frame}`}`;
    super(`${where}: ${problem}`);
    this.where = where;
    this.name = "PackedContentError";
  }
}

export class FileWriteError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "FileWriteError";
  }
}

/** A thread's report as the error the target turns into its own; `packed` is the batch's pack range. */
export function writerFailure(error: WriterError, packed: { pack: string; start: number } | undefined): PackedContentError | FileWriteError {
  if (!error.integrity) return new FileWriteError(error.path, error.code, error.message);
  const { frame, blob, problem } = error.integrity;
  return new PackedContentError(packed?.pack ?? "?", (frame ?? 0) + (packed?.start ?? 0), blob, problem);
}
