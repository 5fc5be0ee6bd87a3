/**
 * The messages between a FileWriterPool (writer-pool.ts) and its threads (writer-thread.ts). Each
 * batch carries its bytes in one transferred buffer, answered with the same buffer for reuse.
 * Per-file entries are labelled tuples: a batch holds up to 128 files and a pack range a few
 * hundred, and arrays clone faster than objects with named fields.
 */

/** A file (or dir: size -1) whose bytes sit at `offset` in the batch buffer. */
export type FileJob = [abs: string, offset: number, size: number, mode: number, mtimeSeconds: number];
/** A file to create with a blob's content. */
export type FileTarget = [abs: string, mode: number, mtimeSeconds: number];
/** A blob in a decompressed frame, and the files that get its content. */
export type BlobJob = [hash: string, rawOffset: number, size: number, files: FileTarget[]];
/** A compressed frame at `offset` in the batch buffer. */
export type FrameJob = [offset: number, length: number, blobs: BlobJob[]];

interface Batch {
  id: number;
  /** Transferred to the thread and back; the batch's bytes are its first `length`. */
  buffer: ArrayBuffer;
  length: number;
  umask: number;
}

/** Files and dirs written as they are. */
export interface FilesMessage extends Batch {
  kind: "files";
  files: FileJob[];
}

/** A pack range: each frame decompressed, each blob checked before its files are written. */
export interface PackedMessage extends Batch {
  kind: "packed";
  frames: FrameJob[];
}

/** A chunk of a large blob's stored bytes (zstd); `files` only with the first, checked at `last`. */
export interface LargeMessage extends Batch {
  kind: "large";
  large: number;
  files: FileTarget[] | undefined;
  hash: string;
  size: number;
  last: boolean;
}

/** Closes the files of a large blob that will not be finished. */
export interface AbortLargeMessage {
  kind: "abortLarge";
  large: number;
}

/** Ends the thread once it has closed whatever a failed restore left open. */
export interface ShutdownMessage {
  kind: "shutdown";
}

export type WriterRequest = FilesMessage | PackedMessage | LargeMessage | AbortLargeMessage | ShutdownMessage;

/** A file the thread could not write, or content it refused (a frame offset is in the batch buffer). */
export type WriterError = { path: string; code?: string; message: string; integrity?: undefined } | { integrity: { frame?: number; blob?: string; problem: string } };

export type WriterReply = { kind: "done"; id: number; error: WriterError | null; buffer: ArrayBuffer } | { kind: "aborted"; large: number };

/** What every writer thread is started with (beside zstdFrom). */
export interface WriterData {
  /** The decompressed frame buffer's size: MAX_FRAME_BYTES, the bound every frame is checked against. */
  maxFrameBytes: number;
}
