/**
 * A WorkspaceSource over a local folder: a stat scan (lstat, symlinks are not followed)
 * and file contents read one after another (small ones whole, large ones as streams). Modes are
 * recorded with setuid/setgid/sticky stripped (mode & 0o777). Sockets, fifos and devices are skipped with a reason
 * (see `skipped()`), as are paths that the ignore rules (gitignore syntax) exclude.
 * It also reads small files in place (`readInto`, see engine/snapshot-files.ts): straight into the
 * engine's frame buffer, with no Buffer per file.
 */
import { closeSync, createReadStream, lstatSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import ignore from "ignore";
import { TorporError } from "../../core/errors";
import type { ChunkedFile, InPlaceReads, ScanEntry, WorkspaceSource } from "../types";

const SMALL_READ_MAX = 1024 * 1024;
/**
 * Permission bits only: setuid, setgid and sticky bits are stripped at the scan, not refused, so
 * no manifest carries them and no restore can plant them (docs/sandboxes.md, "stripped").
 */
const MODE_BITS = 0o777;
const LSTAT_OPTIONS = { throwIfNoEntry: false } as const;
/** Probes for bytes past the space readInto was given. */
const oneByte = Buffer.alloc(1);

export interface LocalDirSourceOptions {
  /** gitignore-style patterns, relative to the folder. */
  ignore?: string[];
}

export interface LocalDirSource extends WorkspaceSource, InPlaceReads {
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
    // Synchronous on purpose: tens of thousands of lstat calls are several times faster in one
    // tight loop than as thread-pool round trips, and a scan is short.
    const visit = (relDir: string, absDir: string) => {
      let names: string[];
      try {
        names = readdirSync(absDir);
      } catch (error) {
        throw new TorporError("INTERNAL", `Cannot list ${absDir}`, { cause: error });
      }
      // Plain concatenation: path.join would normalize ~24,000 paths that need none (a name from
      // readdir has no "/" and is never "." or "..").
      const relPrefix = relDir === "" ? "" : `${relDir}/`;
      const absPrefix = absDir.endsWith("/") ? absDir : `${absDir}/`;
      for (const name of names) {
        const rel = relPrefix + name;
        const abs = absPrefix + name;
        const stats = lstatSync(abs, LSTAT_OPTIONS);
        if (!stats) continue; // deleted since the listing
        const isDir = stats.isDirectory();
        if (hasIgnore && ig.ignores(isDir ? `${rel}/` : rel)) continue;
        const mode = stats.mode & MODE_BITS;
        if (isDir) {
          entries.push({ path: rel, type: "dir", mode, size: 0, mtimeMs: stats.mtimeMs });
          visit(rel, abs);
        } else if (stats.isFile()) {
          entries.push({ path: rel, type: "file", mode, size: stats.size, mtimeMs: stats.mtimeMs });
          sizes.set(rel, stats.size);
        } else if (stats.isSymbolicLink()) {
          const target = readlinkSync(abs);
          entries.push({ path: rel, type: "symlink", mode, size: Buffer.byteLength(target), mtimeMs: stats.mtimeMs, target });
        } else {
          skipped.push({ path: rel, reason: `${specialKind(stats)} skipped` });
        }
      }
    };
    visit("", root);
    return entries;
  }

  async function* readFiles(paths: string[]) {
    for (const rel of paths) {
      const abs = path.join(root, rel);
      const size = sizes.get(rel);
      if (size !== undefined && size <= SMALL_READ_MAX) {
        // Small files are read synchronously: from the page cache that is far cheaper than a
        // thread-pool round trip per file, and the pool is busy compressing meanwhile.
        // `data` lets the engine skip the stream for a file already in memory.
        let data: Buffer;
        try {
          data = readFileSync(abs);
        } catch (error) {
          throw new TorporError("INTERNAL", `Cannot read ${abs}`, { cause: error });
        }
        const bytes = data;
        yield {
          path: rel,
          size: bytes.length,
          data: bytes,
          // Made on demand: the engine takes `data` and never asks, saving one stream per file.
          get stream() {
            return Readable.from([bytes]);
          },
        };
      } else {
        const stats = await lstat(abs);
        yield { path: rel, size: stats.size, stream: createReadStream(abs, { highWaterMark: 1024 * 1024 }) };
      }
    }
  }

  /** Synchronous like the small reads above, and for the same reason. */
  function readInto(rel: string, buffer: Buffer, offset: number, maxBytes: number): number {
    const abs = path.join(root, rel);
    let fd: number;
    try {
      fd = openSync(abs, "r");
    } catch (error) {
      throw new TorporError("INTERNAL", `Cannot read ${abs}`, { cause: error });
    }
    try {
      const end = offset + maxBytes;
      let at = offset;
      // Until end of file: a file that grew since the scan is read whole or refused, never cut.
      for (;;) {
        if (at === end) return readSync(fd, oneByte, 0, 1, null) === 0 ? maxBytes : -1;
        const n = readSync(fd, buffer, at, end - at, null);
        if (n === 0) return at - offset;
        at += n;
      }
    } catch (error) {
      throw new TorporError("INTERNAL", `Cannot read ${abs}`, { cause: error });
    } finally {
      closeSync(fd);
    }
  }

  async function openFile(rel: string): Promise<ChunkedFile> {
    const abs = path.join(root, rel);
    const failed = (error: unknown) => new TorporError("INTERNAL", `Cannot read ${abs}`, { cause: error });
    let handle: FileHandle;
    try {
      handle = await open(abs, "r");
    } catch (error) {
      throw failed(error);
    }
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      await handle.close();
      throw failed(error);
    }
    return {
      size,
      read: (buffer, offset, length) =>
        handle.read(buffer, offset, length, null).then(
          (r) => r.bytesRead,
          (error: unknown) => {
            throw failed(error);
          },
        ),
      close: () => handle.close(),
    };
  }

  return {
    dir: root,
    scan,
    readFiles,
    readInto,
    openFile,
    // No hashFiles: reading a local file twice (hash, then compress) costs more on new content
    // than it saves on content the bucket already has.
    skipped: () => skipped,
  };
}
