/**
 * A WorkspaceTarget over a local folder. Entries arrive dirs first (parents before children),
 * then files, then symlinks (see engine/restore-checkpoint.ts). Small files are written with synchronous syscalls
 * (like tar); large ones stream, up to WRITE_CONCURRENCY at a time.
 * Dirs are created writable and get their own mode and mtime at the end, deepest first.
 *
 * In an empty target nothing pre-exists, so files are created exclusively ("wx"). With
 * `allowNonEmpty`, an existing entry of another kind, or a symlink, at an entry's path is removed
 * first, so that no write ever follows a link that was already in the folder. Files not written
 * by the writer threads are made as the sandbox provider makes them (src/localfs: parents reached
 * by descriptors, a new file O_EXCL|O_NOFOLLOW, no setuid/setgid/sticky bit); the verification
 * hashes read as the sandbox's do (regular files only, no symlink followed).
 */
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { lstat, lutimes, mkdir, readdir, rm, symlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { TorporError, ValidationError } from "../../core/errors";
import { Gate } from "../channel";
import { mismatch } from "../repo/blob-reader";
import { DirChain, hashFolderFiles, writeWorkspaceFile, writeWorkspaceFileSync } from "../../localfs";
import { FileWriteError, PackedContentError } from "./writer-batches";
import { FileWriterPool } from "./writer-pool";
import type { ManifestEntry, RestoreItem, WorkspaceTarget } from "../types";

const WRITE_CONCURRENCY = 32;
/** In the target's top folder while a restore runs (see prepare). */
export const RESTORE_MARKER = ".torpor-restore-incomplete";
/** Threads creating small files in an empty target: file creation is kernel CPU time (two cores). */
const WRITER_THREADS = 2;
const BUFFERED_FILE_MAX = 1024 * 1024;
/** Bits the process umask strips from a new file's mode: the writer threads chmod only then. */
const UMASK = process.umask();

export interface LocalDirTarget extends WorkspaceTarget {
  readonly dir: string;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

const seconds = (ms: number) => ms / 1000;

export function localDirTarget(dir: string): LocalDirTarget {
  const root = path.resolve(dir);
  let overlay = false;

  /** With an overlay, clears whatever sits at `abs` unless it is already of the wanted kind. */
  async function clearFor(abs: string, kind: "dir" | "file" | "symlink"): Promise<void> {
    if (!overlay) return;
    const stats = await lstat(abs).catch(() => null);
    if (!stats) return;
    if (kind === "dir" && stats.isDirectory()) return;
    await rm(abs, { recursive: true, force: true });
  }

  /** Folders reused between the files written in one turn of the event loop (see DirChain). */
  const dirChain = new DirChain(root);

  async function writeFile(entry: ManifestEntry, abs: string, content: Readable | undefined, buffered?: Buffer): Promise<void> {
    // A folder in the way is removed here; localfs replaces any other non-folder itself.
    await clearFor(abs, "file");
    const mtime = seconds(entry.mtimeMs);
    if (buffered || !content || entry.size <= BUFFERED_FILE_MAX) {
      const data = buffered ?? (content ? await collect(content) : Buffer.alloc(0));
      // Synchronous on purpose, as tar does: a few syscalls in a row cost far less than as many
      // thread-pool round trips (and their promises); measured on the bench workspace.
      writeWorkspaceFileSync(root, entry.path, data, entry.mode, mtime, dirChain);
      return;
    }
    await writeWorkspaceFile(root, entry.path, content, entry.mode, mtime, dirChain);
  }

  return {
    dir: root,

    async prepare({ allowNonEmpty }) {
      await mkdir(root, { recursive: true });
      const stats = await lstat(root);
      if (!stats.isDirectory()) throw new ValidationError(`Restore target ${root} is not a folder`);
      let existing = await readdir(root);
      if (existing.includes(RESTORE_MARKER)) {
        // A restore of ours that did not finish: what is here is its partial work, so start over.
        for (const name of existing) await rm(path.join(root, name), { recursive: true, force: true });
        existing = [];
      }
      if (existing.length > 0 && !allowNonEmpty) {
        throw new ValidationError(`Restore target ${root} is not empty (${existing.length} entries); pass --force to restore over it`);
      }
      overlay = existing.length > 0;
      // Until finish(), the folder says it is incomplete: a failed restore never looks like a good one.
      writeFileSync(path.join(root, RESTORE_MARKER), "A Torpor restore into this folder has not finished. Run the restore again to finish it.\n", { flag: overlay ? "w" : "wx" });
    },

    async finish() {
      await rm(path.join(root, RESTORE_MARKER), { force: true });
    },

    // Into an empty folder, the writer threads also decompress and check packed small files.
    packedWriter: () => (overlay ? undefined : (items) => write(items)),

    write: (entries) => write(entries),

    hashFiles: (paths) => hashFolderFiles(root, paths),
  };

  async function write(entries: AsyncIterable<RestoreItem>): Promise<void> {
    const dirs: ManifestEntry[] = [];
    const gate = new Gate(WRITE_CONCURRENCY);
    const running = new Set<Promise<void>>();
    /** Large blobs being sent to the writer threads, and their stored bytes. */
    const largeTasks = new Map<Promise<void>, Readable>();
    let failure: unknown;
    // Over existing content each path is cleared first, on this thread: no pool then.
    const pool = overlay ? undefined : new FileWriterPool(WRITER_THREADS, UMASK);
    // With the pool, dirs (which all come first) are created together, in parallel, before the first file.
    const pendingDirs: string[] = [];
    const createDirs = async () => {
      if (pendingDirs.length > 0) await pool!.mkdirs(pendingDirs.splice(0), 0o700);
    };
    try {
      for await (const item of entries) {
        if ("packed" in item) {
          if (failure !== undefined) break;
          if (pendingDirs.length > 0) await createDirs().catch((error: unknown) => (failure ??= error));
          if (!pool) failure ??= new TorporError("INTERNAL", "Packed files sent to a restore over existing content");
          if (failure !== undefined) break;
          const { pack, start, data, frames } = item.packed;
          const batch = frames.map((f) => ({
            ...f,
            blobs: f.blobs.map((b) => ({
              ...b,
              files: b.entries.map((e) => ({ abs: path.join(root, e.path), mode: e.mode & 0o777, mtimeSeconds: seconds(e.mtimeMs) })),
            })),
          }));
          await pool!.addPacked({ pack, start, data, frames: batch }).catch((error: unknown) => (failure ??= error));
          continue;
        }
        if ("large" in item) {
          const { hash, size, entries: holders, stored } = item.large;
          if (failure === undefined && pendingDirs.length > 0) await createDirs().catch((error: unknown) => (failure ??= error));
          if (!pool) failure ??= new TorporError("INTERNAL", "A stored large blob sent to a restore over existing content");
          if (failure !== undefined) {
            stored.destroy();
            break;
          }
          // Read in the background: packed ranges keep flowing to the other thread meanwhile.
          const files = holders.map((e) => ({ abs: path.join(root, e.path), mode: e.mode & 0o777, mtimeSeconds: seconds(e.mtimeMs) }));
          const task = pool!
            .addLarge({ hash, size, files, stored })
            .catch((error: unknown) => {
              stored.destroy();
              failure ??= error;
            })
            .finally(() => largeTasks.delete(task));
          largeTasks.set(task, stored);
          continue;
        }
        const entry = item.entry;
        // The engine's small files come as checked bytes (`data`): no stream needed for those.
        const buffered = (item as { data?: Buffer }).data;
        const content = buffered ? undefined : item.content;
        if (failure !== undefined) {
          content?.destroy();
          break;
        }
        const abs = path.join(root, entry.path);
        if (pool && entry.type === "dir") {
          pendingDirs.push(abs);
          dirs.push(entry);
          continue;
        }
        if (pendingDirs.length > 0) {
          await createDirs().catch((error: unknown) => (failure ??= error));
          if (failure !== undefined) {
            content?.destroy();
            break;
          }
        }
        if (entry.type === "dir") {
          await clearFor(abs, "dir");
          try {
            mkdirSync(abs, { mode: 0o700 });
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
          }
          dirs.push(entry);
          continue;
        }
        if (pool && entry.type === "file" && buffered) {
          await pool.add(abs, buffered, entry.mode & 0o777, seconds(entry.mtimeMs)).catch((error: unknown) => (failure ??= error));
          continue;
        }
        // Symlinks come last: every file is written before the first link exists.
        if (pool && entry.type === "symlink") {
          await Promise.all([...largeTasks.keys()]);
          await pool.drain().catch((error: unknown) => (failure ??= error));
        }
        await gate.acquire();
        const task = (entry.type === "file" ? writeFile(entry, abs, content, buffered) : writeSymlink(entry, abs))
          .catch((error: unknown) => {
            content?.destroy();
            failure ??= error;
          })
          .finally(() => {
            gate.release();
            running.delete(task);
          });
        running.add(task);
      }
      if (pool && failure === undefined) await createDirs().catch((error: unknown) => (failure ??= error));
      await Promise.all([...running, ...largeTasks.keys()]);
      if (pool && failure === undefined) await pool.drain().catch((error: unknown) => (failure ??= error));
    } finally {
      // A loop left early (a failure) stops its large blobs, and waits for them, before the threads end.
      if (failure !== undefined) for (const stored of largeTasks.values()) stored.destroy();
      await Promise.all([...largeTasks.keys()]);
      await pool?.close();
    }
    if (failure !== undefined) {
      if (failure instanceof TorporError) throw failure;
      if (failure instanceof PackedContentError) throw mismatch(failure.where, failure.problem);
      const where = failure instanceof FileWriteError ? failure.path : root;
      throw new TorporError("INTERNAL", `Writing into ${where} failed`, { cause: failure });
    }
    // Synchronous, as for files: two thousand dirs are two thousand thread-pool round trips otherwise.
    for (const d of dirs.reverse()) {
      const abs = path.join(root, d.path);
      chmodSync(abs, d.mode & 0o777);
      utimesSync(abs, seconds(d.mtimeMs), seconds(d.mtimeMs));
    }
  }

  async function writeSymlink(entry: ManifestEntry, abs: string): Promise<void> {
    await clearFor(abs, "symlink");
    await symlink(entry.target ?? "", abs);
    await lutimes(abs, seconds(entry.mtimeMs), seconds(entry.mtimeMs)).catch(() => {});
  }
}
