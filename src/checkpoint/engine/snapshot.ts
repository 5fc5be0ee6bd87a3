/**
 * Taking a snapshot: scan, reuse the parent's hashes for unchanged paths (same type, size, mtime
 * and mode; or, with `changedPaths` and no `fullScan`, every path not listed), read and hash the
 * rest, pack new small blobs, stream new large ones, then commit: every pack, index and blob is
 * durable before the manifest is written, and the manifest is the commit. With a parent, the
 * manifest is a delta of what changed when the chain has room (repo/manifest-chain.ts); its marker
 * under the parent is written before it, so that removing the parent keeps what the delta needs.
 * After the commit, the packs it uploaded are logged in the bucket's dedup index (repo/dedup-index.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import ignore from "ignore";
import { TorporError } from "../../core/errors";
import type { ObjectStore } from "../../objectstore/types";
import { Gate } from "../channel";
import { type BlobLocation, EMPTY_HASH, keys } from "../repo/format";
import { startCompressionThread } from "../repo/compress-pool";
import { childKey, committedManifest, encodeCheckpoint, type ResolvedManifest } from "../repo/manifest-chain";
import { writeDedupLog } from "../repo/dedup-index";
import { KnownBlobs } from "../repo/known-blobs";
import { Packer, type PackerStats } from "../repo/packer";
import { PathCursor } from "../repo/path-cursor";
import { assertScanSafe, byPath } from "../repo/paths";
import { storeFiles } from "./snapshot-files";
import type { ManifestEntry, ScanEntry, SnapshotOptions, SnapshotResult, WorkspaceSource } from "../types";

export interface SnapshotSettings {
  objects: ObjectStore;
  concurrency: number;
  packTargetBytes: number;
  smallFileBytes: number;
  ignore: string[];
  /** Deltas a chain holds at most before a full manifest is written again (0: always full). */
  deltaChainMax: number;
  readManifest(id: string): Promise<ResolvedManifest>;
  /** The manifest behind an object the engine's readManifest returned (SnapshotOptions.parentManifest). */
  handedOut?(given: object): ResolvedManifest | undefined;
  /** Told of every commit, with the checkpoint as a read would return it (the engine keeps it: engine/manifest-cache.ts). */
  committed?(id: string, manifest: ResolvedManifest, parent: string | null): void;
}

const MTIME_TOLERANCE_MS = 0.01;
/** Filesystem timestamps can be coarse: a file modified this close to the parent's scan is re-read. */
const RACY_WINDOW_MS = 2000;

function unchanged(now: ScanEntry, before: ManifestEntry | undefined, racyAfter: number): before is ManifestEntry {
  return (
    before !== undefined &&
    before.mtimeMs < racyAfter &&
    before.type === "file" &&
    before.hash !== undefined &&
    before.size === now.size &&
    before.mode === now.mode &&
    Math.abs(before.mtimeMs - now.mtimeMs) < MTIME_TOLERANCE_MS
  );
}

/** The parent's manifest: the one the caller already read when it is this engine's and the parent's, else read. */
function parentManifest(options: SnapshotOptions, s: SnapshotSettings): Promise<ResolvedManifest> {
  const given = options.parentManifest;
  const known = given && given.summary.id === options.parent ? s.handedOut?.(given) : undefined;
  return known ? Promise.resolve(known) : s.readManifest(options.parent!);
}

export async function takeSnapshot(source: WorkspaceSource, options: SnapshotOptions, s: SnapshotSettings): Promise<SnapshotResult> {
  const started = performance.now();
  const progress = { phase: "scan" as SnapshotProgressPhase, filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };
  let reported = 0;
  // Progress is reported every 64 files (and at each phase), not for each of tens of thousands.
  const report = (force = true) => {
    if (!options.onProgress || (!force && ++reported % 64 !== 0)) return;
    options.onProgress({ ...progress });
  };
  const checkAbort = () => {
    if (options.signal?.aborted) throw new TorporError("INTERNAL", "Snapshot aborted", { cause: options.signal.reason });
  };
  report();

  // The scan keeps the main thread busy for a while: the thread that will compress the first
  // pack frame starts meanwhile (a 1-file incremental otherwise waited ~60 ms for it at the end).
  startCompressionThread();
  const scannedAt = Date.now();
  const ig = ignore().add(s.ignore);
  let scanned = (await source.scan()).filter((e) => s.ignore.length === 0 || !ig.ignores(e.type === "dir" ? `${e.path}/` : e.path));
  scanned.sort(byPath);
  assertScanSafe(scanned);
  const skipped = [...(source.skipped?.() ?? [])];
  checkAbort();

  // A rewrite must not depend on the parent at all: its manifest may be the damaged object.
  const parent = options.parent && !options.rewrite ? await parentManifest(options, s) : undefined;
  // Asked for in path order (scanned is sorted, no path twice): a cursor, not a Map of every path.
  const before = new PathCursor(parent?.entries ?? []);
  const changed = options.changedPaths ? new Set(options.changedPaths) : undefined;
  const racyAfter = (parent?.header.scannedAt ?? parent?.header.createdAt ?? 0) - RACY_WINDOW_MS;
  const trustChangeList = changed !== undefined && parent !== undefined && !options.fullScan;
  const known = new KnownBlobs(s.objects, s.concurrency, parent?.locations, parent ? 64 : 0, !options.rewrite);

  const entries: ManifestEntry[] = [];
  const toRead: ManifestEntry[] = [];
  let reusedFiles = 0;
  for (const e of scanned) {
    // A file's hash has its slot from the start: added later to each of tens of thousands of
    // copies, it would give every one a separate property store (allocations, then GC).
    const entry: ManifestEntry = e.type === "file" ? { path: e.path, type: e.type, mode: e.mode, size: e.size, mtimeMs: e.mtimeMs, hash: undefined } : { ...e };
    entries.push(entry);
    if (e.type !== "file") continue;
    progress.filesTotal++;
    progress.bytesTotal += e.size;
    const old = before.take(e.path);
    const reuse = trustChangeList
      ? !changed.has(e.path) && old?.type === "file" && old.hash !== undefined
      : !changed?.has(e.path) && unchanged(e, old, racyAfter);
    if (reuse && old?.hash) {
      entry.hash = old.hash;
      if (trustChangeList) {
        entry.size = old.size;
        entry.mtimeMs = old.mtimeMs;
        entry.mode = old.mode;
      }
      reusedFiles++;
    } else if (e.size === 0) {
      entry.hash = EMPTY_HASH;
    } else {
      toRead.push(entry);
    }
  }
  scanned = [];
  // Only the files to read: every other file has its hash already, so a source returning one of
  // them is refused as unexpected either way (snapshot-files.ts), and no Map of every file is built.
  const byPathIndex = new Map(toRead.map((e) => [e.path, e]));

  const stats: PackerStats = { uploadedBytes: 0, uploadedObjects: 0 };
  const uploadGate = new Gate(s.concurrency);
  // Two frames compressing at a time: on two cores, with large files compressing and the main
  // thread reading, a third one only adds a thread competing for them (3.22 s vs 3.26 s mean
  // over four runs, within the noise, and one 2 MB frame buffer less).
  const packer = new Packer(s.objects, known, uploadGate, stats, s.packTargetBytes, 2);
  const tmpDir = await mkdtemp(path.join(tmpdir(), "torpor-snapshot-"));
  const largeUploads: Promise<void>[] = [];
  const largeCtx = { objects: s.objects, known, uploadGate, stats, tmpDir, pending: new Map(), readBuffers: [] };
  progress.phase = "hash";
  // Everything not to be read is done already: reused files and empty ones.
  progress.filesDone = progress.filesTotal - toRead.length;
  progress.bytesDone = progress.bytesTotal - toRead.reduce((n, e) => n + e.size, 0);
  // Counted with the size the scan saw (the one in bytesTotal), even if the file changed since.
  const countDone = (scannedSize: number) => {
    progress.filesDone++;
    progress.bytesDone += scannedSize;
    report(false);
  };
  report();

  try {
    // Large files the source can hash in place need no reading when the bucket has their content.
    let readList = toRead;
    if (source.hashFiles && !options.rewrite) {
      const large = toRead.filter((e) => e.size > s.smallFileBytes).map((e) => e.path);
      if (large.length > 0) {
        const hashes = await source.hashFiles(large);
        const known2 = new Set<string>();
        for (const p of large) {
          const entry = byPathIndex.get(p)!;
          const hash = hashes[p];
          if (hash && (await known.hasLarge(hash, entry.size))) {
            entry.hash = hash;
            known2.add(p);
            countDone(entry.size);
          }
        }
        readList = toRead.filter((e) => !known2.has(e.path));
      }
    }

    progress.phase = "upload";
    const ctx = { source, byPath: byPathIndex, packer, known, large: largeCtx, smallFileBytes: s.smallFileBytes, checkAbort, countDone, largeUploads };
    await storeFiles(readList, ctx);
    const missing = toRead.find((e) => e.hash === undefined);
    if (missing) throw new TorporError("INTERNAL", `Source did not return '${missing.path}'`);
    await packer.flush();
    await Promise.all(largeUploads);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }

  progress.phase = "manifest";
  report();
  const locations = new Map<string, BlobLocation>();
  let files = 0;
  let dirs = 0;
  let symlinks = 0;
  let bytes = 0;
  for (const e of entries) {
    if (e.type === "dir") dirs++;
    else if (e.type === "symlink") symlinks++;
    else {
      files++;
      bytes += e.size;
      if (e.hash === EMPTY_HASH || locations.has(e.hash!)) continue;
      const loc = known.get(e.hash!);
      if (!loc) throw new TorporError("INTERNAL", `No stored location for '${e.path}'`);
      locations.set(e.hash!, loc);
    }
  }
  const header = { parent: options.parent ?? null, createdAt: Date.now(), scannedAt, files, dirs, symlinks, bytes, meta: options.meta ?? {} };
  const encoded = encodeCheckpoint({ header, entries, locations }, parent, s.deltaChainMax);
  const { id, body, deltaOf } = encoded;
  if (deltaOf) {
    await s.objects.put(childKey(deltaOf, id), "");
    stats.uploadedObjects++;
  }
  await s.objects.put(keys.manifest(id), body);
  stats.uploadedBytes += body.length;
  stats.uploadedObjects++;
  // Committed: what is kept of it is advisory (a miss reads the stored object), so it never fails the snapshot.
  if (s.committed) {
    try {
      s.committed(id, committedManifest(encoded, { header, entries, locations }, parent), header.parent);
    } catch {
      // Nothing kept: the next reader reads the manifest from the store, which checks it.
    }
  }
  // After the commit, so it names committed packs only; best effort (repo/dedup-index.ts).
  await writeDedupLog(s.objects, id, known.uploaded);

  return {
    checkpoint: id,
    parent: header.parent,
    files,
    dirs,
    symlinks,
    bytes,
    uploadedBytes: stats.uploadedBytes,
    uploadedObjects: stats.uploadedObjects,
    reusedFiles,
    skipped,
    seconds: (performance.now() - started) / 1000,
  };
}

type SnapshotProgressPhase = "scan" | "hash" | "upload" | "manifest";
