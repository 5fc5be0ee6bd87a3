/**
 * A WorkspaceSource over a local folder: a parallel stat scan (lstat, symlinks are not followed)
 * and file contents read ahead in parallel. Sockets, fifos and devices are skipped with a reason
 * (see `skipped()`), as are paths that the ignore rules (gitignore syntax) exclude.
 */
import { createReadStream } from "node:fs";
import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import ignore from "ignore";
import { TorporError } from "../core/errors";
import { hashLocalFiles } from "./hash-file";
import type { ScanEntry, WorkspaceSource } from "./types";

const SCAN_CONCURRENCY = 32;
const READ_AHEAD_FILES = 64;
const READ_AHEAD_MAX_FILE = 1024 * 1024;

export interface LocalDirSourceOptions {
  /** gitignore-style patterns, relative to the folder. */
  ignore?: string[];
}

export interface LocalDirSource extends WorkspaceSource {
  readonly dir: string;
  skipped(): { path: string; reason: string }[];
}

function specialKind(stats: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }) {
  if (stats.isFIFO()) return "fifo";
  if (stats.isSocket()) return "socket";
  if (stats.isBlockDevice()) return "block device";
  if (stats.isCharacterDevice()) return "character device";
  return "special file";
}

export function localDirSource(dir: string, options: LocalDirSourceOptions = {}): LocalDirSource {
  const root = path.resolve(dir);
  const ig = ignore().add(options.ignore ?? []);
  const hasIgnore = (options.ignore ?? []).length > 0;
  let skipped: { path: string; reason: string }[] = [];
  const sizes = new Map<string, number>();

  async function scan(): Promise<ScanEntry[]> {
    const rootStats = await lstat(root).catch((error: unknown) => {
      throw new TorporError("NOT_FOUND", `Cannot read workspace folder ${root}`, { cause: error });
    });
    if (!rootStats.isDirectory()) throw new TorporError("VALIDATION", `Workspace ${root} is not a folder`);
    skipped = [];
    sizes.clear();
    const entries: ScanEntry[] = [];
    const queue: string[] = [""];
    let active = 0;
    let failure: unknown;

    await new Promise<void>((resolve) => {
      const pump = () => {
        if (failure !== undefined || (queue.length === 0 && active === 0)) return resolve();
        while (active < SCAN_CONCURRENCY && queue.length > 0) {
          const rel = queue.shift()!;
          active++;
          visit(rel)
            .catch((error: unknown) => (failure ??= error))
            .finally(() => {
              active--;
              pump();
            });
        }
      };
      pump();
    });
    if (failure !== undefined) throw new TorporError("INTERNAL", `Scan of ${root} failed`, { cause: failure });
    return entries;

    async function visit(relDir: string): Promise<void> {
      const names = await readdir(path.join(root, relDir));
      await Promise.all(
        names.map(async (name) => {
          const rel = relDir === "" ? name : `${relDir}/${name}`;
          const abs = path.join(root, rel);
          const stats = await lstat(abs);
          const isDir = stats.isDirectory();
          if (hasIgnore && ig.ignores(isDir ? `${rel}/` : rel)) return;
          const base = { path: rel, mode: stats.mode & 0o7777, mtimeMs: stats.mtimeMs };
          if (isDir) {
            entries.push({ ...base, type: "dir", size: 0 });
            queue.push(rel);
          } else if (stats.isFile()) {
            entries.push({ ...base, type: "file", size: stats.size });
            sizes.set(rel, stats.size);
          } else if (stats.isSymbolicLink()) {
            const target = await readlink(abs);
            entries.push({ ...base, type: "symlink", size: Buffer.byteLength(target), target });
          } else {
            skipped.push({ path: rel, reason: `${specialKind(stats)} skipped` });
          }
        }),
      );
    }
  }

  async function* readFiles(paths: string[]) {
    // Small files are read whole, up to READ_AHEAD_FILES ahead of the consumer; large ones stream.
    const pending: Promise<{ path: string; size: number; stream: Readable; data?: Buffer }>[] = [];
    let next = 0;
    const start = (rel: string) => {
      const abs = path.join(root, rel);
      const size = sizes.get(rel);
      if (size !== undefined && size <= READ_AHEAD_MAX_FILE) {
        // `data` lets the engine skip the stream for a file already in memory.
        return readFile(abs).then((data) => ({ path: rel, size: data.length, stream: Readable.from([data]), data }));
      }
      return lstat(abs).then((s) => ({ path: rel, size: s.size, stream: createReadStream(abs) }));
    };
    while (next < paths.length || pending.length > 0) {
      while (pending.length < READ_AHEAD_FILES && next < paths.length) {
        const p = start(paths[next++]!);
        p.catch(() => {}); // handled when awaited in order below
        pending.push(p);
      }
      yield await pending.shift()!;
    }
  }

  return {
    dir: root,
    scan,
    readFiles,
    hashFiles: (paths: string[]) => hashLocalFiles(root, paths),
    skipped: () => skipped,
  };
}
