/**
 * The checkpoint engine: snapshot, restore, verify, list, remove and gc over an ObjectStore, with
 * the format of format.ts. It works through WorkspaceSource/WorkspaceTarget, so the same engine
 * serves local folders (localDirSource/localDirTarget) and sandboxes. The store is wrapped with
 * retries, so transient storage failures are retried with backoff.
 */
import { NotFoundError, StorageError } from "../core/errors";
import type { ObjectStore } from "../objectstore/index";
import { withRetries } from "../objectstore/retry";
import { Gate } from "./channel";
import { decodeHeader, decodeManifest, isCheckpointId, keys, type Manifest, summaryOf } from "./format";
import { collectGarbage } from "./gc";
import { restoreCheckpoint } from "./restore";
import { takeSnapshot } from "./snapshot";
import type { CheckpointEngine, CheckpointSummary } from "./types";
import { verifyCheckpoint } from "./verify";

export { localDirSource, type LocalDirSource, type LocalDirSourceOptions } from "./local-source";
export { localDirTarget, type LocalDirTarget } from "./local-target";

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
}

const HEADER_BYTES = 4096;

export function createCheckpointEngine(options: CheckpointEngineOptions): CheckpointEngine {
  const objects = withRetries(options.objects);
  const concurrency = options.concurrency ?? 16;

  async function readManifest(id: string): Promise<Manifest> {
    if (!isCheckpointId(id)) throw new NotFoundError(`No checkpoint '${id}' (not a checkpoint id)`, { details: { checkpoint: id } });
    let body: Buffer;
    try {
      body = await objects.getBuffer(keys.manifest(id));
    } catch (error) {
      if (error instanceof StorageError && error.code === "NOT_FOUND") {
        throw new NotFoundError(`No checkpoint '${id}' in ${objects.description}`, { details: { checkpoint: id } });
      }
      throw error;
    }
    return decodeManifest(id, body);
  }

  const settings = {
    objects,
    concurrency,
    packTargetBytes: options.packTargetBytes ?? 16 * 1024 * 1024,
    smallFileBytes: options.smallFileBytes ?? 1024 * 1024,
    ignore: options.ignore ?? [],
    readManifest,
  };

  return {
    snapshot: (source, snapshotOptions = {}) => takeSnapshot(source, snapshotOptions, settings),
    restore: (id, target, restoreOptions = {}) => restoreCheckpoint(id, target, restoreOptions, settings),
    verify: (id, verifyOptions = {}) => verifyCheckpoint(id, settings, verifyOptions.onProgress),

    async list() {
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
            const header = decodeHeader(id, head) ?? (await readManifest(id)).header;
            return summaryOf(id, header);
          }),
        ),
      );
      return summaries.filter((s): s is CheckpointSummary => s !== null).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    },

    async readManifest(id) {
      const manifest = await readManifest(id);
      return { entries: manifest.entries, summary: summaryOf(id, manifest.header) };
    },

    async remove(id) {
      await readManifest(id);
      await objects.delete([keys.manifest(id)]);
    },

    gc: (gcOptions = {}) =>
      collectGarbage(objects, readManifest, {
        graceMs: gcOptions.graceMs ?? options.gcGraceMs ?? 60 * 60 * 1000,
        now: gcOptions.now ?? Date.now(),
        concurrency,
      }),
  };
}
