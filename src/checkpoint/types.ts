/**
 * Terms of the checkpoint engine:
 * - blob: the bytes of one file, addressed by their SHA-256 (hex).
 * - pack: one object holding many small blobs, compressed one by one, so that a small file costs a
 *   part of a PUT; a pack index says where each blob sits (offset, length) for ranged GETs.
 * - manifest: every entry of a workspace at one moment (path, type, mode, size, mtime, hash or
 *   symlink target). A checkpoint is a committed manifest; its id names it in the object store.
 * Commit order: blobs and packs durable → manifest written → (state store) checkpoint row committed.
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

export interface SnapshotProgress {
  phase: "scan" | "hash" | "upload" | "manifest";
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface RestoreProgress {
  phase: "download" | "write" | "verify";
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
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

export interface SnapshotOptions {
  /** Checkpoint id of the parent: unchanged paths (same size, mtime, mode) reuse its hashes. */
  parent?: string;
  /** Paths that may have changed (from change rows): with a parent, only these are re-read. */
  changedPaths?: string[];
  /** Still stat-scan everything when changedPaths is given (the safety net before hibernation). */
  fullScan?: boolean;
  /**
   * Trust nothing already stored: no reuse of the parent's hashes or locations, no dedup against
   * existing packs, indexes or blobs. Every file is read from the source and uploaded again (large
   * blobs re-PUT at blobs/<hash>, which replaces a damaged object: content addressing makes that
   * safe). `parent` is only recorded, never read. Heals a session whose objects are damaged.
   */
  rewrite?: boolean;
  /** Stored in the manifest: "workspace" of origin, session id, labels… */
  meta?: Record<string, string>;
  onProgress?: (progress: SnapshotProgress) => void;
  signal?: AbortSignal;
}

export interface SnapshotResult {
  checkpoint: string;
  parent: string | null;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  uploadedBytes: number;
  uploadedObjects: number;
  reusedFiles: number;
  skipped: { path: string; reason: string }[];
  seconds: number;
}

export interface RestoreOptions {
  allowNonEmpty?: boolean;
  onProgress?: (progress: RestoreProgress) => void;
  signal?: AbortSignal;
}

export interface RestoreResult {
  checkpoint: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  verifiedFiles: number;
  seconds: number;
}

export interface VerifyResult {
  checkpoint: string;
  ok: boolean;
  files: number;
  bytes: number;
  problems: { path: string; problem: string }[];
  seconds: number;
}

export interface CheckpointSummary {
  id: string;
  parent: string | null;
  createdAt: number;
  files: number;
  bytes: number;
  meta: Record<string, string>;
}

export interface GcResult {
  deletedObjects: number;
  deletedBytes: number;
  keptObjects: number;
  /** Unreferenced objects younger than the grace period: perhaps part of a checkpoint being written. */
  inGrace: number;
  seconds: number;
}

/** The engine's surface, used by the CLI, the workflows and the API. */
export interface CheckpointEngine {
  snapshot(source: WorkspaceSource, options?: SnapshotOptions): Promise<SnapshotResult>;
  restore(checkpointId: string, target: WorkspaceTarget, options?: RestoreOptions): Promise<RestoreResult>;
  /** Downloads and checks every blob of a checkpoint. */
  verify(checkpointId: string, options?: { onProgress?: (p: RestoreProgress) => void }): Promise<VerifyResult>;
  /** Committed checkpoints (manifests) in the object store, newest first. */
  list(): Promise<CheckpointSummary[]>;
  readManifest(checkpointId: string): Promise<{ entries: ManifestEntry[]; summary: CheckpointSummary }>;
  /** Deletes a checkpoint's manifest (its objects go at the next gc). */
  remove(checkpointId: string): Promise<void>;
  /** Deletes objects that no manifest references and that are older than the grace period. */
  gc(options?: { graceMs?: number; now?: number }): Promise<GcResult>;
}
