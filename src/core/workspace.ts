/**
 * The vocabulary of a workspace's files as the checkpoint engine and the sandbox providers both
 * speak it: what a scan reports (ScanEntry), what a manifest holds (ManifestEntry), and the two
 * sides a checkpoint moves files between (WorkspaceSource, WorkspaceTarget) with their optional
 * fast paths (InPlaceReads, packed and large restore items). It sits here, at the bottom, so that
 * neither the checkpoint engine nor a sandbox adapter imports the other (src/checkpoint/types
 * re-exports it).
 */
import type { Readable } from "node:stream";

export type EntryType = "file" | "dir" | "symlink";

/** What a stat scan of a workspace reports for one path (relative, "/"-separated, no "./"). */
export interface ScanEntry {
  path: string;
  type: EntryType;
  /** Permission bits (e.g. 0o755), without the file type bits. */
  mode: number;
  size: number;
  mtimeMs: number;
  /** Symlinks only: the link's target, as stored in the link. */
  target?: string;
}

export interface ManifestEntry extends ScanEntry {
  /** Files only: SHA-256 hex of the content. */
  hash?: string;
}



/**
 * Where a snapshot reads a workspace from: a local folder, or a sandbox through its provider
 * (one tar stream out of the sandbox for all the files that need reading).
 */
export interface WorkspaceSource {
  scan(): Promise<ScanEntry[]>;
  /** The content of these files, in any order, each exactly once. */
  readFiles(paths: string[]): AsyncIterable<{ path: string; size: number; stream: Readable }>;
  /** Optional fast path: hash in place (inside the sandbox) instead of streaming the bytes out. */
  hashFiles?(paths: string[]): Promise<Record<string, string>>;
  /** Optional: what the last scan left out (sockets, fifos, devices), with the reason. */
  skipped?(): { path: string; reason: string }[];
}

/** A file a source can read in chunks, into buffers the engine reuses. */
export interface ChunkedFile {
  size: number;
  /** Reads up to `length` bytes at the current position into `buffer` at `offset`; 0 at the end. */
  read(buffer: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Optional capability of a WorkspaceSource on the local disk (`LocalDirSource`): the snapshot
 * reads small files straight into its frames and large ones in chunks into reused buffers,
 * instead of a Buffer or stream per file (see snapshot-files.ts).
 */
export interface InPlaceReads {
  /**
   * Reads the whole file `path` into `buffer` at `offset`, synchronously, and returns its length,
   * or -1 when it holds more than `maxBytes` (it grew since the scan). `buffer` has room for
   * `maxBytes`.
   */
  readInto(path: string, buffer: Buffer, offset: number, maxBytes: number): number;
  /** Opens the file `path` to be read in chunks. */
  openFile(path: string): Promise<ChunkedFile>;
}

/**
 * Small files as stored: the compressed frames of one range of a pack, and for each blob in them
 * the entries (files) that hold its content. Offsets are in the pack; `data` starts at `start`.
 */
export interface PackedFiles {
  pack: string;
  start: number;
  data: Buffer;
  frames: { offset: number; length: number; blobs: { hash: string; rawOffset: number; size: number; entries: ManifestEntry[] }[] }[];
}

/**
 * A large blob as stored (a run of zstd frames, codec.ts): its bytes, unchecked, and the entries
 * (files) that hold its content.
 */
export interface StoredLargeBlob {
  hash: string;
  size: number;
  entries: ManifestEntry[];
  stored: Readable;
}

export type RestoreItem = { entry: ManifestEntry; content?: Readable } | { packed: PackedFiles } | { large: StoredLargeBlob };

/** Where a restore writes a workspace to: an empty local folder, or a sandbox (one tar stream in). */
export interface WorkspaceTarget {
  /** Refuses a non-empty target unless `allowNonEmpty`. */
  prepare(options: { allowNonEmpty: boolean }): Promise<void>;
  /** Writes every entry; file contents arrive as streams whose hashes the engine checks. */
  write(entries: AsyncIterable<{ entry: ManifestEntry; content?: Readable }>): Promise<void>;
  /**
   * Optional, asked after prepare(): a write() that also takes `{ packed }` and `{ large }` items.
   * The target decompresses their frames and checks every blob (size and SHA-256, as in the
   * manifest), refusing a mismatch with an IntegrityError; it can do that off the engine's thread.
   * A packed blob is checked before any file of it is written; a large one as it is written, and
   * before its file gets its mode and mtime (the restore then fails, as with the engine's own
   * streams). Undefined when it cannot: the engine then sends checked bytes to write().
   */
  packedWriter?(): ((items: AsyncIterable<RestoreItem>) => Promise<void>) | undefined;
  /** SHA-256 of each restored file as it is now on the target: the file-by-file verification. */
  hashFiles(paths: string[]): Promise<Record<string, string>>;
  /** Optional: called once every entry is written and checked (the local folder drops its marker). */
  finish?(): Promise<void>;
}
