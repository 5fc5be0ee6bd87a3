/**
 * Descriptor-relative access to a workspace folder whose sandbox may be changing it while the host
 * reads or writes it (the sandbox's processes are untrusted and the host runs as root).
 *
 * Node has no openat/openat2. On Linux, "/proc/self/fd/<fd>/<name>" does the same job: the magic
 * link "/proc/self/fd/<fd>" jumps to the folder that descriptor holds (it is not a path looked up
 * again), and only <name> is resolved in it. So a path is walked one component at a time from the
 * workspace root's descriptor, each folder opened O_DIRECTORY|O_NOFOLLOW relative to its parent's:
 * a component swapped for a symlink (rename aside + symlink, RENAME_EXCHANGE) is refused
 * (ENOTDIR/ELOOP), never followed, whenever the swap happens. A leaf is opened
 * O_NOFOLLOW|O_NONBLOCK (a FIFO never blocks the open, a link or socket fails it) and fstat'ed on
 * that descriptor, refused unless it is a regular file: the bytes read are those of the inode
 * that was checked (see openFileAt). Every check of tests/sandbox/hostile-fs.test.ts holds against a sandbox process
 * swapping folders in a loop.
 *
 * Errors name workspace paths only, never a host path.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readlinkSync, unlinkSync, type Stats } from "node:fs";
import { SandboxError } from "../core/errors";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const DIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
const READ_LEAF = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | constants.O_NOCTTY;
const NEW_FILE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** Permission bits only: setuid, setgid and sticky are stripped from every mode Torpor writes or reports. */
export const MODE_BITS = 0o777;

/**
 * This process's descriptor folder in /proc. "/proc/<pid>/fd" rather than "/proc/self/fd": the
 * kernel then resolves no "self" link on every lookup, which made each stat and open of a scan
 * or read about a third dearer (measured on node_modules). Worker threads share the process's
 * descriptor table, so the pid's folder is theirs too. "/proc/self/fd" when /proc belongs to
 * another pid namespace (its "self" is then not our pid).
 */
let fdDir = "/proc/self/fd";

/** The path that names `name` inside the folder held by `fd` (or the descriptor itself). */
export function at(fd: number, name?: string): string {
  return name === undefined ? `${fdDir}/${fd}` : `${fdDir}/${fd}/${name}`;
}

/** The errno name of a system error; undefined for anything else (a TorporError has a code too). */
export function errnoOf(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException | undefined;
  return typeof e?.errno === "number" ? e.code : undefined;
}

/** An unexpected system error as a SandboxError that names the workspace path, never the host's. */
export function sysError(error: unknown, p: string, what = "use"): SandboxError {
  const errno = errnoOf(error);
  if (errno === undefined) throw error; // not a system error: let it through as is
  if (errno === "ENAMETOOLONG") return new SandboxError("VALIDATION", `Path '${p}' has a name that is too long`, { details: { path: p, errno } });
  return new SandboxError("PROVIDER", `Cannot ${what} '${p}' in the workspace (${errno})`, { details: { path: p, errno } });
}

let procChecked = false;

/** Opens the workspace folder itself; null when it does not exist. */
export function openRoot(root: string): number | null {
  if (!procChecked) {
    if (!existsSync("/proc/self/fd")) throw new SandboxError("PROVIDER", "Torpor needs /proc (Linux) to read local folders safely");
    if (readlinkSync("/proc/self", { encoding: "utf8" }) === String(process.pid)) fdDir = `/proc/${process.pid}/fd`;
    procChecked = true;
  }
  try {
    return openSync(root, DIR);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return null;
    throw sysError(error, "", "open the workspace folder");
  }
}

/**
 * Opens folder `name` in the folder `parentFd`, without following a symlink. Returns null when it
 * is missing or (only when `soft`) is not a folder; else throws UNSAFE_PATH for a symlink.
 */
export function openDirAt(parentFd: number, name: string, p: string, shown: string, soft = false): number | null {
  try {
    return openSync(at(parentFd, name), DIR);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === "ENOENT") return null;
    if (errno !== "ENOTDIR" && errno !== "ELOOP") throw sysError(error, p, "open");
    if (soft) return null;
    const st = lstatSync(at(parentFd, name), { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) throw new SandboxError("UNSAFE_PATH", `Refused path '${p}': '${shown}' is a symlink`, { details: { path: p } });
    throw new SandboxError("PROVIDER", `Cannot use path '${p}': '${shown}' is not a folder`, { details: { path: p } });
  }
}

/**
 * The open folders along one path, from the workspace root down, reused by the next call for the
 * common prefix: a scan, restore or batch of reads in sorted order opens each folder once, not
 * once per file. The descriptors are closed at the next turn of the event loop, so a folder that
 * changes between two API calls is always looked up afresh; a descriptor from `folder()` must
 * therefore be used before the next await that may yield to the event loop.
 */
export class DirChain {
  private readonly fds: number[] = [];
  private readonly names: string[] = [];
  private releasing: NodeJS.Immediate | null = null;

  constructor(private readonly root: string) {}

  /**
   * The descriptor of folder `parts` (workspace path segments; [] is the root). Missing folders
   * are made (0755) when `create`, else null is returned. A symlink on the way is UNSAFE_PATH.
   */
  folder(parts: readonly string[], p: string, create = false): number | null {
    if (this.fds.length === 0) {
      const fd = openRoot(this.root);
      if (fd === null) {
        if (create) throw new SandboxError("PROVIDER", "The sandbox's workspace folder is gone", { details: { path: p } });
        return null;
      }
      this.fds.push(fd);
    }
    this.schedule();
    let k = 0;
    while (k < this.names.length && k < parts.length && this.names[k] === parts[k]) k++;
    while (this.names.length > k) {
      this.names.pop();
      closeSync(this.fds.pop()!);
    }
    for (let i = k; i < parts.length; i++) {
      const parent = this.fds[this.fds.length - 1]!;
      const name = parts[i]!;
      const shown = parts.slice(0, i + 1).join("/");
      let fd = openDirAt(parent, name, p, shown);
      if (fd === null) {
        if (!create) return null;
        try {
          mkdirSync(at(parent, name), { mode: 0o755 });
        } catch (error) {
          if (errnoOf(error) !== "EEXIST") throw sysError(error, p, "create a folder for");
        }
        fd = openDirAt(parent, name, p, shown);
        if (fd === null) throw new SandboxError("PROVIDER", `Folder '${shown}' vanished while '${p}' was written`, { details: { path: p } });
      }
      this.fds.push(fd);
      this.names.push(name);
    }
    return this.fds[this.fds.length - 1]!;
  }

  close(): void {
    if (this.releasing !== null) clearImmediate(this.releasing);
    this.releasing = null;
    this.names.length = 0;
    while (this.fds.length > 0) closeSync(this.fds.pop()!);
  }

  private schedule(): void {
    if (this.releasing !== null) return;
    this.releasing = setImmediate(() => {
      this.releasing = null;
      this.close();
    });
    this.releasing.unref();
  }
}

/** "a/b/c" → parents ["a", "b"] and leaf "c". */
export function splitPath(p: string): { parents: string[]; leaf: string } {
  const parents = p.split("/");
  return { parents, leaf: parents.pop()! };
}

function kind(st: Stats): string {
  if (st.isSymbolicLink()) return "a symlink";
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** Why a non-regular entry is refused, as an error naming the workspace path. */
function notRegular(st: Stats, p: string): SandboxError {
  const what = kind(st);
  return new SandboxError("PROVIDER", `'${p}' is ${what === "not a regular file" ? what : `${what}, not a regular file`}`, { details: { path: p } });
}

/**
 * Opens regular file `name` of folder `dirFd` for reading; null if it is missing. Anything else
 * is refused before a byte is read: a symlink fails the open (O_NOFOLLOW: ELOOP), a socket fails
 * it (ENXIO), and a FIFO or folder is opened without blocking (O_NONBLOCK) and refused by the
 * fstat of that same descriptor, so the bytes read are those of the inode that was checked.
 * Opening a sandbox's FIFO this way can at most release a writer of that FIFO that waits for a
 * reader (the sandbox's own process); no device can be there: isolated sandbox processes have no
 * CAP_MKNOD and a restore never makes one. One open instead of an O_PATH open, fstat and reopen (until 2026-12-04):
 * reading 22,285 small files took 355 ms this way, 525 ms the other, 340 ms by plain paths.
 */
export function openFileAt(dirFd: number, name: string, p: string): { fd: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(at(dirFd, name), READ_LEAF);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === "ENOENT") return null;
    if (errno === "ELOOP" || errno === "ENXIO") {
      const st = lstatSync(at(dirFd, name), { throwIfNoEntry: false });
      if (st === undefined) return null;
      if (!st.isFile()) throw notRegular(st, p);
    }
    throw sysError(error, p, "open");
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(st, p);
    return { fd, size: st.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Makes a new file `name` in folder `dirFd` (O_EXCL|O_NOFOLLOW) after unlinking whatever non-folder
 * is there: never written through a link, never into a file hard-linked to a host file.
 * Returns the descriptor, open for writing.
 */
export function createFileAt(dirFd: number, name: string, p: string, mode: number): number {
  const target = at(dirFd, name);
  const st = lstatSync(target, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new SandboxError("PROVIDER", `'${p}' is a folder, not a file`, { details: { path: p } });
  try {
    if (st) unlinkSync(target);
    return openSync(target, NEW_FILE, mode & MODE_BITS);
  } catch (error) {
    throw sysError(error, p, "write");
  }
}

/** Unlinks whatever non-folder is at `name` of folder `dirFd`; a folder there is refused. */
export function removeNonDirAt(dirFd: number, name: string, p: string, why: string): void {
  const target = at(dirFd, name);
  const st = lstatSync(target, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (st.isDirectory()) throw new SandboxError("PROVIDER", `Cannot replace folder '${p}' with ${why}`, { details: { path: p } });
  try {
    unlinkSync(target);
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") throw sysError(error, p, "replace");
  }
}
