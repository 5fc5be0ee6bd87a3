/**
 * The checkpoint engine: snapshot, restore, verify, list, remove and gc over an ObjectStore, with
 * the format of repo/format.ts. It works through WorkspaceSource/WorkspaceTarget, so the same engine
 * serves local folders (localDirSource/localDirTarget) and sandboxes. The store is wrapped with
 * retries, so transient storage failures are retried with backoff. Parsed manifests are kept in
 * memory for the next snapshot's parent and for readManifest (manifest-cache.ts).
 */
import { IntegrityError, NotFoundError, StorageError } from "../../core/errors";
import type { ObjectStore } from "../../objectstore/types";
import { withRetries } from "../../objectstore/retry";
import { Gate } from "../channel";
import { decodeHeader, isCheckpointId, keys, summaryOf } from "../repo/format";
import { collectGarbage } from "../repo/gc";
import { MAX_CHAIN_DEPTH, removeCheckpoint, resolveManifest, type ResolvedManifest } from "../repo/manifest-chain";
import { ManifestCache } from "./manifest-cache";
import { restoreCheckpoint } from "./restore-checkpoint";
import { takeSnapshot } from "./snapshot";
import type { CheckpointEngine, CheckpointSummary } from "../types";
import { verifyCheckpoint } from "./verify";

export { localDirSource, type LocalDirSource, type LocalDirSourceOptions } from "../local/source";
export { localDirTarget, type LocalDirTarget } from "../local/target";

export interface CheckpointEngineOptions {
  objects: ObjectStore;
  /** Parallel object requests (uploads, ranged GETs). */
  concurrency?: number;
  /** A pack is sealed once its compressed size reaches this. */
  packTargetBytes?: number;
  /** Files up to this size go into packs; larger ones are standalone blobs. */
  smallFileBytes?: number;
  /** gitignore-style patterns applied to every snapshot's scan. */
  ignore?: string[];
  /** Default grace period of gc. */
  gcGraceMs?: number;
  /** Deltas a manifest chain holds at most before a snapshot writes a full manifest (0: never a delta). */
  deltaChainMax?: number;
  /**
   * Keep each committed manifest in memory as the next snapshot's parent (default true). A process
   * that takes one snapshot and exits (the CLI) never reads it: rebuilding and freezing it cost
   * 40-110 ms of CPU of a 1-file incremental on the bench workspace (CPU profiles), for nothing.
   * Manifests read from the store are kept either way.
   */
  keepCommits?: boolean;
}

const HEADER_BYTES = 4096;

export function createCheckpointEngine(options: CheckpointEngineOptions): CheckpointEngine {
  const objects = withRetries(options.objects);
  const concurrency = options.concurrency ?? 16;

  const cache = new ManifestCache();
  /**
   * Every reader gets the checkpoint with its delta chain resolved (repo/manifest-chain.ts).
   * From the store, checked; kept (frozen) on success, dropped when the store refuses it.
   */
  const readStoredManifest = async (id: string): Promise<ResolvedManifest> => {
    try {
      return cache.put(id, await resolveManifest(objects, id));
    } catch (error) {
      if (error instanceof IntegrityError || error instanceof NotFoundError) cache.delete(id);
      throw error;
    }
  };
  /** The kept copy while the checkpoint still exists (one HEAD: removed anywhere, never served), else a read. */
  const readManifest = async (id: string): Promise<ResolvedManifest> => {
    const kept = cache.get(id);
    if (kept && (await objects.head(keys.manifest(id))) !== null) return kept;
    return readStoredManifest(id);
  };
  /**
   * What the public readManifest handed out, to the manifest it came from: a snapshot given it as
   * `parentManifest` skips reading the parent again (a flush's check just read it). Weak: it lives
   * as long as the caller holds the object.
   */
  const handedOut = new WeakMap<object, ResolvedManifest>();

  const settings = {
    objects,
    concurrency,
    packTargetBytes: options.packTargetBytes ?? 16 * 1024 * 1024,
    smallFileBytes: options.smallFileBytes ?? 1024 * 1024,
    ignore: options.ignore ?? [],
    deltaChainMax: Math.min(options.deltaChainMax ?? 20, MAX_CHAIN_DEPTH),
    readManifest,
    handedOut: (given: object) => handedOut.get(given),
    committed:
      options.keepCommits === false
        ? undefined
        : (id: string, manifest: ResolvedManifest, parent: string | null) => {
            cache.put(id, manifest);
            // A session's checkpoints form a line: its next flush reads this one, not the parent.
            if (parent) cache.delete(parent);
          },
  };
  // Restore and verify prove that the store still holds a readable checkpoint: never from memory.
  const fromStore = { ...settings, readManifest: readStoredManifest };

  return {
    snapshot: (source, snapshotOptions = {}) => takeSnapshot(source, snapshotOptions, settings),
    restore: (id, target, restoreOptions = {}) => restoreCheckpoint(id, target, restoreOptions, fromStore),
    verify: (id, verifyOptions = {}) => verifyCheckpoint(id, fromStore, verifyOptions.onProgress),

    async list(listOptions = {}) {
      const ids: string[] = [];
      for await (const item of objects.list("manifests/")) ids.push(item.key.slice("manifests/".length));
      const gate = new Gate(concurrency);
      const summaries = await Promise.all(
        ids.filter(isCheckpointId).map((id) =>
          gate.run(async (): Promise<CheckpointSummary | null> => {
            const head = await objects.getBuffer(keys.manifest(id), { start: 0, end: HEADER_BYTES - 1 }).catch((error: unknown) => {
              if (error instanceof StorageError && error.code === "NOT_FOUND") return null;
              throw error;
            });
            if (!head) return null;
            try {
              const header = decodeHeader(id, head) ?? (await readManifest(id)).header;
              return summaryOf(id, header);
            } catch (error) {
              // One garbage object under manifests/ must not hide every other checkpoint.
              if (!(error instanceof IntegrityError)) throw error;
              listOptions.onUnreadable?.(id, error);
              return null;
            }
          }),
        ),
      );
      return summaries.filter((s): s is CheckpointSummary => s !== null).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    },

    async readManifest(id) {
      const manifest = await readManifest(id);
      const read = { entries: manifest.entries, summary: summaryOf(id, manifest.header) };
      handedOut.set(read, manifest);
      return read;
    },

    async remove(id) {
      cache.delete(id);
      try {
        await removeCheckpoint(objects, id);
      } finally {
        // Again after: a read while it was being removed may have kept it.
        cache.delete(id);
      }
    },

    gc: (gcOptions = {}) =>
      collectGarbage(objects, {
        graceMs: gcOptions.graceMs ?? options.gcGraceMs ?? 60 * 60 * 1000,
        now: gcOptions.now ?? Date.now(),
        concurrency,
      }),
  };
}
