/**
 * Host-side file access to a local sandbox's workspace folder, safe against the sandbox itself.
 *
 * The workspace is written by untrusted processes, so any folder in it may be a symlink to
 * anywhere on the host. Every path is therefore checked (see ../paths) and walked with lstat:
 * a symlink among the parent folders is refused (UNSAFE_PATH), and the last component is opened
 * with O_NOFOLLOW, so Torpor never reads or writes through a link. A race (a folder swapped for a
 * link between the check and the open) remains possible; see docs/sandboxes.md.
 */
import { createHash } from "node:crypto";
import { close, closeSync, constants, createReadStream, fstatSync, fchmodSync, futimesSync, lstatSync, mkdirSync, openSync, read, readSync, readdirSync, readlinkSync, unlinkSync, writeSync } from "node:fs";
import fs from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { promisify } from "node:util";
import path from "node:path";
import { SandboxError } from "../../core/errors";
import type { ChunkedFile, InPlaceReads, ScanEntry } from "../../checkpoint/types";
import { parentsOf, workspacePath } from "../paths";

const NOFOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW;
const readAsync = promisify(read);
const closeAsync = promisify(close);
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The host path of a workspace path whose parent folders exist and are real folders.
 * `create` makes missing parents (mode 0755). Returns null when a parent is missing.
 */
/**
 * hostPath with synchronous syscalls: a workspace of 20,000 files at depth 6-8 is 150,000 lstat
 * calls, which as thread-pool round trips took most of a 30 s resume; in a row they take a
 * fraction of a second. The checks and their (small) race window are the same.
 */
export function hostPathSync(root: string, rel: string, create = false): string | null {
  const p = workspacePath(rel);
  for (const parent of parentsOf(p)) {
    const abs = path.join(root, parent);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) {
      if (!create) return null;
      mkdirSync(abs, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink()) {
      throw new SandboxError("UNSAFE_PATH", `Refused path '${p}': '${parent}' is a symlink`, { details: { path: p } });
    }
    if (!st.isDirectory()) {
      throw new SandboxError("PROVIDER", `Cannot use path '${p}': '${parent}' is not a folder`, { details: { path: p } });
    }
  }
  return path.join(root, p);
}

/** Work done synchronously in a loop gives the event loop a turn this often (entries). */
const YIELD_EVERY = 256;

/** lstat walk of the workspace (or a folder in it); never follows symlinks; sorted by path. */
export async function scanFolder(root: string, dir = ""): Promise<ScanEntry[]> {
  const start = workspacePath(dir, "folder");
  const abs = hostPathSync(root, start);
  if (abs === null) return [];
  const out: ScanEntry[] = [];
  let visited = 0;
  // Synchronous lstat calls (see hostPathSync), with a turn for the event loop now and then.
  const walk = async (rel: string, absDir: string): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(absDir);
    } catch (error) {
      if (code(error) === "ENOENT") return; // removed while we walked
      throw error;
    }
    names.sort();
    for (const name of names) {
      if (++visited % YIELD_EVERY === 0) await nextTurn();
      const childRel = rel === "" ? name : `${rel}/${name}`;
      const childAbs = path.join(absDir, name);
      const st = lstatSync(childAbs, { throwIfNoEntry: false });
      if (st === undefined) continue;
      const base = { path: childRel, mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs };
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = readlinkSync(childAbs);
        } catch (error) {
          if (code(error) === "ENOENT") continue;
          throw error;
        }
        out.push({ ...base, type: "symlink", target });
      } else if (st.isFile()) out.push({ ...base, type: "file" });
      else if (st.isDirectory()) {
        out.push({ ...base, type: "dir", size: 0 });
        await walk(childRel, childAbs);
      } // sockets, fifos and devices are not workspace content
    }
  };
  if (start !== "") {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return [];
  }
  await walk(start, abs);
  return out;
}

/** Opens a regular file for reading without following a final symlink; null if it is missing. */
export async function openRegular(root: string, rel: string): Promise<fs.FileHandle | null> {
  const abs = hostPathSync(root, rel);
  if (abs === null) return null;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(abs, NOFOLLOW_READ);
  } catch (error) {
    if (code(error) === "ENOENT") return null;
    if (code(error) === "ELOOP") throw new SandboxError("PROVIDER", `'${rel}' is a symlink, not a file`, { details: { path: rel } });
    throw error;
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new SandboxError("PROVIDER", `'${rel}' is not a regular file`, { details: { path: rel } });
  }
  return handle;
}

/** Files up to this size are read whole, synchronously, into one reused buffer. */
const SMALL_READ = 1024 * 1024;

/**
 * Opens a regular file for reading, synchronously, without following a final symlink; null if it
 * is missing. Returns the descriptor and the size.
 */
export function openRegularSync(root: string, rel: string): { fd: number; size: number } | null {
  const abs = hostPathSync(root, rel);
  return abs === null ? null : openCheckedSync(abs, rel);
}

/** The open of openRegularSync, for a host path whose parents were just checked by hostPathSync. */
export function openCheckedSync(abs: string, rel: string): { fd: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(abs, NOFOLLOW_READ);
  } catch (error) {
    if (code(error) === "ENOENT") return null;
    if (code(error) === "ELOOP") throw new SandboxError("PROVIDER", `'${rel}' is a symlink, not a file`, { details: { path: rel } });
    throw error;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new SandboxError("PROVIDER", `'${rel}' is not a regular file`, { details: { path: rel } });
  }
  return { fd, size: st.size };
}

/** Reads a whole small file (at most `buffer.length` bytes) from `fd`; returns the bytes read. */
export function readWhole(fd: number, buffer: Buffer): number {
  let at = 0;
  for (;;) {
    const n = readSync(fd, buffer, at, buffer.length - at, null);
    if (n === 0) return at;
    at += n;
    if (at === buffer.length) return at;
  }
}

/**
 * InPlaceReads over a workspace folder, with openRegularSync's checks. A file that is gone or is
 * no regular file any more fails the read, as a file missing from exportTar fails a snapshot.
 */
export function workspaceInPlaceReads(root: string): InPlaceReads {
  const open = (rel: string) => {
    const file = openRegularSync(root, rel);
    if (file === null) throw new SandboxError("PROVIDER", `'${rel}' is gone from the workspace`, { details: { path: rel } });
    return file;
  };
  return {
    readInto(rel, buffer, offset, maxBytes) {
      const { fd } = open(rel);
      try {
        // One byte past maxBytes: a file that grew since the scan is refused (-1), never cut.
        const n = readWhole(fd, buffer.subarray(offset, offset + maxBytes));
        if (n < maxBytes) return n;
        return readSync(fd, Buffer.alloc(1), 0, 1, null) === 0 ? n : -1;
      } finally {
        closeSync(fd);
      }
    },
    async openFile(rel): Promise<ChunkedFile> {
      const { fd, size } = open(rel);
      return {
        size,
        read: (buffer, offset, length) => readAsync(fd, buffer, offset, length, null).then((r) => r.bytesRead),
        close: () => closeAsync(fd),
      };
    },
  };
}

/**
 * SHA-256 of each file; files that no longer exist are left out of the result. Small files are
 * read synchronously into one reused buffer (as the checkpoint engine reads a local folder),
 * large ones streamed.
 */
export async function hashFolderFiles(root: string, paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // One byte more than a small file: a file that grew since fstat fills it, and is read on.
  const buffer = Buffer.allocUnsafe(SMALL_READ + 1);
  let done = 0;
  for (const rel of paths) {
    if (++done % YIELD_EVERY === 0) await nextTurn();
    const file = openRegularSync(root, rel);
    if (file === null) continue;
    const hash = createHash("sha256");
    let whole = false;
    if (file.size <= SMALL_READ) {
      let n: number;
      try {
        n = readWhole(file.fd, buffer);
      } catch (error) {
        closeSync(file.fd);
        throw error;
      }
      hash.update(buffer.subarray(0, n));
      whole = n <= SMALL_READ;
      if (whole) closeSync(file.fd);
    }
    if (!whole) {
      // From the descriptor's current position: after the bytes hashed above, if any.
      const stream = createReadStream("", { fd: file.fd, autoClose: true });
      for await (const chunk of stream) hash.update(chunk as Buffer);
    }
    out[workspacePath(rel)] = hash.digest("hex");
  }
  return out;
}

export async function readWorkspaceFile(root: string, rel: string): Promise<Buffer> {
  const handle = await openRegular(root, rel);
  if (handle === null) throw new SandboxError("PROVIDER", `No file '${rel}' in the sandbox`, { details: { path: rel } });
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a regular file, creating parent folders. Whatever is at the path (a file, a symlink) is
 * unlinked first and a new file made with O_EXCL: never written through a link, and never into a
 * file that an unisolated sandbox hard-linked to a host file.
 */
/** writeWorkspaceFile for bytes in memory, with synchronous syscalls (see hostPathSync); sets the mtime too. */
export function writeWorkspaceFileSync(root: string, rel: string, content: Buffer, mode: number, mtime: Date): string {
  const p = workspacePath(rel);
  if (p === "") throw new SandboxError("UNSAFE_PATH", "Cannot write the workspace folder itself as a file");
  const abs = hostPathSync(root, p, true)!;
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new SandboxError("PROVIDER", `'${p}' is a folder, not a file`, { details: { path: p } });
  if (st) unlinkSync(abs);
  const fd = openSync(abs, NEW_FILE, mode & 0o7777);
  try {
    let at = 0;
    while (at < content.length) at += writeSync(fd, content, at, content.length - at);
    fchmodSync(fd, mode & 0o7777);
    futimesSync(fd, mtime, mtime);
  } finally {
    closeSync(fd);
  }
  return abs;
}

export async function writeWorkspaceFile(
  root: string,
  rel: string,
  content: Buffer | string | AsyncIterable<Uint8Array>,
  mode = 0o644,
): Promise<string> {
  const p = workspacePath(rel);
  if (p === "") throw new SandboxError("UNSAFE_PATH", "Cannot write the workspace folder itself as a file");
  const abs = hostPathSync(root, p, true)!;
  const st = await fs.lstat(abs).catch(() => null);
  if (st?.isDirectory()) throw new SandboxError("PROVIDER", `'${p}' is a folder, not a file`, { details: { path: p } });
  if (st) await fs.unlink(abs);
  const handle = await fs.open(abs, NEW_FILE, mode & 0o7777);
  try {
    if (typeof content === "string" || Buffer.isBuffer(content)) await handle.writeFile(content);
    else for await (const chunk of content) await handle.write(chunk);
    await handle.chmod(mode & 0o7777);
  } finally {
    await handle.close();
  }
  return abs;
}
