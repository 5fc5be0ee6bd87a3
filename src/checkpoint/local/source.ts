/**
 * A WorkspaceSource over a local folder, read as the local sandbox provider reads a live
 * sandbox's workspace (src/localfs): a stat scan that follows no symlink, and reads that reach each
 * file by descriptors from the folder down and open only regular files, so a folder swapped for a
 * symlink, or a file for a FIFO, between the scan and the read is refused, never read through or
 * blocked on. Modes are recorded with setuid/setgid/sticky stripped (mode & 0o777). Sockets,
 * fifos and devices are skipped with a reason (see `skipped()`), as are paths that the ignore
 * rules (gitignore syntax) exclude.
 * It also reads small files in place (`readInto`, see engine/snapshot-files.ts): straight into the
 * engine's frame buffer, with no Buffer per file.
 */
import { closeSync, createReadStream, readFileSync } from "node:fs";
import { lstat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import ignore from "ignore";
import { SandboxError, TorporError } from "../../core/errors";
import { DirChain, openRegularSync, scanFolder, sysError, workspaceInPlaceReads } from "../../localfs";
import type { InPlaceReads, ScanEntry, WorkspaceSource } from "../types";

const SMALL_READ_MAX = 1024 * 1024;

export interface LocalDirSourceOptions {
  /** gitignore-style patterns, relative to the folder. */
  ignore?: string[];
}

export interface LocalDirSource extends WorkspaceSource, InPlaceReads {
  readonly dir: string;
  skipped(): { path: string; reason: string }[];
}

export function localDirSource(dir: string, options: LocalDirSourceOptions = {}): LocalDirSource {
  const root = path.resolve(dir);
  const ig = ignore().add(options.ignore ?? []);
  const ignores = (options.ignore ?? []).length > 0 ? (rel: string, isDir: boolean) => ig.ignores(isDir ? `${rel}/` : rel) : undefined;
  let skipped: { path: string; reason: string }[] = [];
  const inPlace = workspaceInPlaceReads(root);

  async function scan(): Promise<ScanEntry[]> {
    const rootStats = await lstat(root).catch((error: unknown) => {
      throw new TorporError("NOT_FOUND", `Cannot read workspace folder ${root}`, { cause: error });
    });
    if (!rootStats.isDirectory()) throw new TorporError("VALIDATION", `Workspace ${root} is not a folder`);
    const found: { path: string; reason: string }[] = [];
    const entries = await scanFolder(root, "", { ignores, onSkipped: (rel, kind) => found.push({ path: rel, reason: `${kind} skipped` }) });
    skipped = found;
    return entries;
  }

  async function* readFiles(paths: string[]) {
    // One chain for the whole pass: the folders of files in the same folder are opened once per turn.
    const dirs = new DirChain(root);
    for (const rel of paths) {
      const file = openRegularSync(root, rel, dirs);
      if (file === null) throw new SandboxError("PROVIDER", `'${rel}' is gone from the workspace`, { details: { path: rel } });
      if (file.size <= SMALL_READ_MAX) {
        // Small files are read synchronously: from the page cache that is far cheaper than a
        // thread-pool round trip per file, and the pool is busy compressing meanwhile.
        // `data` lets the engine skip the stream for a file already in memory.
        let data: Buffer;
        try {
          data = readFileSync(file.fd);
        } catch (error) {
          throw sysError(error, rel, "read");
        } finally {
          closeSync(file.fd);
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
        yield { path: rel, size: file.size, stream: createReadStream("", { fd: file.fd, highWaterMark: 1024 * 1024 }) };
      }
    }
  }

  return {
    dir: root,
    scan,
    readFiles,
    readInto: inPlace.readInto,
    openFile: inPlace.openFile,
    // No hashFiles: reading a local file twice (hash, then compress) costs more on new content
    // than it saves on content the bucket already has.
    skipped: () => skipped,
  };
}
