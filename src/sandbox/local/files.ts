/**
 * Host-side file access to a local sandbox's workspace folder, safe against the sandbox itself.
 *
 * The workspace is written by untrusted processes, so any folder in it may become a symlink to
 * anywhere on the host at any moment. Every path is checked (see ../paths) and then resolved one
 * component at a time relative to its parent folder's descriptor (./safe-fs): a symlink among the
 * parents is refused (UNSAFE_PATH) however late it is swapped in, only regular files are read
 * (a FIFO, socket or device is refused without being opened), and files are written as new files
 * (O_EXCL|O_NOFOLLOW) in a verified folder. Modes lose setuid, setgid and sticky bits, on the way
 * in and in what a scan reports. Errors name workspace paths, never host paths.
 */
import { createHash } from "node:crypto";
import { close, closeSync, createReadStream, fchmodSync, fstatSync, futimesSync, lstatSync, read, readFile, readSync, readdirSync, readlinkSync, write, writeSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { promisify } from "node:util";
import path from "node:path";
import { SandboxError } from "../../core/errors";
import type { ChunkedFile, InPlaceReads, ScanEntry } from "../../core/workspace";
import { workspacePath } from "../paths";
import { at, createFileAt, DirChain, errnoOf, MODE_BITS, openDirAt, openFileAt, openRoot, splitPath, sysError } from "./safe-fs";

const readAsync = promisify(read);
const writeAsync = promisify(write);
const readFileAsync = promisify(readFile);
const closeAsync = promisify(close);

/**
 * The host path of a workspace path whose parent folders exist and are real folders, or null
 * when one is missing. Only a check: whoever uses the path looks it up again (exec's cwd, which
 * bubblewrap resolves inside the sandbox). Host-side I/O goes through the functions below.
 */
export function hostPathSync(root: string, rel: string): string | null {
  const p = workspacePath(rel);
  const dirs = new DirChain(root);
  try {
    return dirs.folder(splitPath(p).parents, p) === null ? null : path.join(root, p);
  } finally {
    dirs.close();
  }
}

/** Work done synchronously in a loop gives the event loop a turn this often (entries). */
const YIELD_EVERY = 256;

/**
 * Walk of the workspace (or a folder in it), sorted by path, with a descriptor per folder: each
 * folder is listed and its entries lstat'ed through its own descriptor, and entered only by
 * opening it O_NOFOLLOW from its parent's, so no symlink is ever followed. Sockets, FIFOs and
 * devices are not workspace content and are left out. Synchronous syscalls (thousands of
 * thread-pool round trips otherwise), with a turn for the event loop now and then.
 */
export async function scanFolder(root: string, dir = ""): Promise<ScanEntry[]> {
  const start = workspacePath(dir, "folder");
  let startFd: number | null;
  if (start === "") startFd = openRoot(root);
  else {
    const dirs = new DirChain(root);
    try {
      const { parents, leaf } = splitPath(start);
      const parent = dirs.folder(parents, start);
      startFd = parent === null ? null : openDirAt(parent, leaf, start, start, true);
    } finally {
      dirs.close();
    }
  }
  if (startFd === null) return [];
  const out: ScanEntry[] = [];
  let visited = 0;
  const walk = async (rel: string, dirFd: number): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(at(dirFd));
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return; // removed while we walked
      throw sysError(error, rel, "list");
    }
    names.sort();
    for (const name of names) {
      if (++visited % YIELD_EVERY === 0) await nextTurn();
      const childRel = rel === "" ? name : `${rel}/${name}`;
      let st = lstatSync(at(dirFd, name), { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = readlinkSync(at(dirFd, name));
        } catch (error) {
          if (errnoOf(error) === "ENOENT" || errnoOf(error) === "EINVAL") continue; // gone, or no longer a link
          throw sysError(error, childRel, "read the link");
        }
        out.push({ ...base(childRel, st), type: "symlink", target });
      } else if (st.isFile()) out.push({ ...base(childRel, st), type: "file" });
      else if (st.isDirectory()) {
        const childFd = openDirAt(dirFd, name, childRel, childRel, true);
        if (childFd === null) continue; // swapped for something else since the lstat
        try {
          st = fstatSync(childFd); // the folder walked, not the one lstat saw
          out.push({ ...base(childRel, st), type: "dir", size: 0 });
          await walk(childRel, childFd);
        } finally {
          closeSync(childFd);
        }
      }
    }
  };
  try {
    await walk(start, startFd);
  } finally {
    closeSync(startFd);
  }
  return out;
}

function base(p: string, st: { mode: number; size: number; mtimeMs: number }): Omit<ScanEntry, "type"> {
  return { path: p, mode: st.mode & MODE_BITS, size: st.size, mtimeMs: st.mtimeMs };
}

/** Files up to this size are read whole, synchronously, into one reused buffer. */
const SMALL_READ = 1024 * 1024;

/**
 * Opens a regular file for reading, synchronously, resolved by descriptors (see ./safe-fs); null
 * if it is missing. Returns the descriptor and the size. `dirs` reuses the folders of a batch.
 */
export function openRegularSync(root: string, rel: string, dirs?: DirChain): { fd: number; size: number } | null {
  const p = workspacePath(rel);
  if (p === "") throw new SandboxError("PROVIDER", "The workspace folder is not a file", { details: { path: p } });
  const chain = dirs ?? new DirChain(root);
  try {
    const { parents, leaf } = splitPath(p);
    const parent = chain.folder(parents, p);
    return parent === null ? null : openFileAt(parent, leaf, p);
  } finally {
    if (dirs === undefined) chain.close();
  }
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
 * The folders are shared between the reads of one synchronous run (see DirChain).
 */
export function workspaceInPlaceReads(root: string): InPlaceReads {
  const dirs = new DirChain(root);
  const open = (rel: string) => {
    const file = openRegularSync(root, rel, dirs);
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
  const dirs = new DirChain(root);
  let done = 0;
  try {
    for (const rel of paths) {
      if (++done % YIELD_EVERY === 0) await nextTurn();
      const file = openRegularSync(root, rel, dirs);
      if (file === null) continue;
      const hash = createHash("sha256");
      let whole = false;
      if (file.size <= SMALL_READ) {
        let n: number;
        try {
          n = readWhole(file.fd, buffer);
        } catch (error) {
          closeSync(file.fd);
          throw sysError(error, rel, "read");
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
  } finally {
    dirs.close();
  }
  return out;
}

export async function readWorkspaceFile(root: string, rel: string): Promise<Buffer> {
  const file = openRegularSync(root, rel);
  if (file === null) throw new SandboxError("PROVIDER", `No file '${rel}' in the sandbox`, { details: { path: rel } });
  try {
    return await readFileAsync(file.fd);
  } catch (error) {
    throw sysError(error, rel, "read");
  } finally {
    closeSync(file.fd);
  }
}

/**
 * Makes the new file `rel` (parent folders too): whatever is at the path (a file, a symlink) is
 * unlinked first and a new file made with O_EXCL|O_NOFOLLOW in the verified parent folder.
 */
function createWorkspaceFile(root: string, rel: string, mode: number, dirs?: DirChain): { fd: number; p: string } {
  const p = workspacePath(rel);
  if (p === "") throw new SandboxError("UNSAFE_PATH", "Cannot write the workspace folder itself as a file");
  const chain = dirs ?? new DirChain(root);
  try {
    const { parents, leaf } = splitPath(p);
    return { fd: createFileAt(chain.folder(parents, p, true)!, leaf, p, mode), p };
  } finally {
    if (dirs === undefined) chain.close();
  }
}

/** writeWorkspaceFile for bytes in memory, with synchronous syscalls; sets the mtime too. */
export function writeWorkspaceFileSync(root: string, rel: string, content: Buffer, mode: number, mtime: Date, dirs?: DirChain): void {
  const { fd, p } = createWorkspaceFile(root, rel, mode, dirs);
  try {
    let at = 0;
    while (at < content.length) at += writeSync(fd, content, at, content.length - at);
    fchmodSync(fd, mode & MODE_BITS); // the umask took bits off at the open
    futimesSync(fd, mtime, mtime);
  } catch (error) {
    throw sysError(error, p, "write");
  } finally {
    closeSync(fd);
  }
}

/** Writes a regular file as createWorkspaceFile makes it; mode without setuid/setgid/sticky. */
export async function writeWorkspaceFile(
  root: string,
  rel: string,
  content: Buffer | string | AsyncIterable<Uint8Array>,
  mode = 0o644,
  mtime?: Date,
  dirs?: DirChain,
): Promise<void> {
  const { fd, p } = createWorkspaceFile(root, rel, mode, dirs);
  try {
    const writeAll = async (chunk: Uint8Array): Promise<void> => {
      for (let at = 0; at < chunk.length; ) at += (await writeAsync(fd, chunk, at, chunk.length - at)).bytesWritten;
    };
    if (typeof content === "string") await writeAll(Buffer.from(content));
    else if (Buffer.isBuffer(content)) await writeAll(content);
    else for await (const chunk of content) await writeAll(chunk);
    fchmodSync(fd, mode & MODE_BITS);
    if (mtime !== undefined) futimesSync(fd, mtime, mtime);
  } catch (error) {
    throw sysError(error, p, "write");
  } finally {
    closeSync(fd);
  }
}
