/**
 * Terms of the checkpoint engine:
 * - blob: the bytes of one file, addressed by their SHA-256 (hex).
 * - pack: one object holding many small blobs, compressed one by one, so that a small file costs a
 *   part of a PUT; a pack index says where each blob sits (offset, length) for ranged GETs.
 * - manifest: every entry of a workspace at one moment (path, type, mode, size, mtime, hash or
 *   symlink target). A checkpoint is a committed manifest; its id names it in the object store.
 * Commit order: blobs and packs durable → manifest written → (state store) checkpoint row committed.
 */


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

export type { EntryType, ScanEntry, ManifestEntry, WorkspaceSource, ChunkedFile, InPlaceReads, PackedFiles, StoredLargeBlob, RestoreItem, WorkspaceTarget } from "../core/workspace";
import type { EntryType, ScanEntry, ManifestEntry, WorkspaceSource, ChunkedFile, InPlaceReads, PackedFiles, StoredLargeBlob, RestoreItem, WorkspaceTarget } from "../core/workspace";

export interface SnapshotOptions {
  /** Checkpoint id of the parent: unchanged paths (same size, mtime, mode) reuse its hashes. */
  parent?: string;
  /** Paths that may have changed (from change rows): with a parent, only these are re-read. */
  changedPaths?: string[];
  /** Still stat-scan everything when changedPaths is given (the safety net before hibernation). */
  fullScan?: boolean;
  /**
   * The parent's manifest as this engine's readManifest(parent) returned it, already read by the
   * caller: the snapshot uses it instead of reading and decoding it again. One from elsewhere (a
   * copy, another engine) is ignored and the parent is read. The caller must not have changed it.
   */
  parentManifest?: { entries: ManifestEntry[]; summary: CheckpointSummary };
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
  /** Manifest objects gc read (the others came from gc/state: only those written since the last gc). */
  manifestReads?: number;
  /** Manifests gc could not read: when any, it deleted nothing (see repo/gc.ts). */
  unreadable?: string[];
}

/** The engine's surface, used by the CLI, the workflows and the API. */
export interface CheckpointEngine {
  snapshot(source: WorkspaceSource, options?: SnapshotOptions): Promise<SnapshotResult>;
  restore(checkpointId: string, target: WorkspaceTarget, options?: RestoreOptions): Promise<RestoreResult>;
  /** Downloads and checks every blob of a checkpoint. */
  verify(checkpointId: string, options?: { onProgress?: (p: RestoreProgress) => void }): Promise<VerifyResult>;
  /** Committed checkpoints (manifests) in the object store, newest first. */
  /** Every checkpoint; one whose manifest is unreadable is skipped and passed to onUnreadable. */
  list(options?: { onUnreadable?: (id: string, error: Error) => void }): Promise<CheckpointSummary[]>;
  readManifest(checkpointId: string): Promise<{ entries: ManifestEntry[]; summary: CheckpointSummary }>;
  /** Deletes a checkpoint's manifest (its objects go at the next gc). */
  remove(checkpointId: string): Promise<void>;
  /** Deletes objects that no manifest references and that are older than the grace period. */
  gc(options?: { graceMs?: number; now?: number }): Promise<GcResult>;
}
