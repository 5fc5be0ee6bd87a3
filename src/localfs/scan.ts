/**
 * A stat scan of a folder (or of a folder in it) that may be changing while it is walked: the
 * sandbox's workspace, or the CLI's folder. Sorted by path, with a descriptor per folder: each
 * folder is listed and its entries lstat'ed through its own descriptor, and entered only by
 * opening it O_NOFOLLOW from its parent's (./safe-fs), so no symlink is ever followed whenever it
 * is swapped in. Sockets, FIFOs and devices are not workspace content: they are left out (and
 * reported to `onSkipped`). Modes lose setuid, setgid and sticky bits (MODE_BITS).
 */
import { closeSync, fstatSync, lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { ScanEntry } from "../core/workspace";
import { checkedPath } from "./paths";
import { at, DirChain, errnoOf, MODE_BITS, openDirAt, openRoot, splitPath, sysError } from "./safe-fs";

/** Work done synchronously in a loop gives the event loop a turn this often (entries). */
export const YIELD_EVERY = 256;

/** What a scan left out because it is no workspace content. */
export type SpecialKind = "fifo" | "socket" | "block device" | "character device" | "special file";

export interface ScanOptions {
  /** Paths to leave out (not entered when a folder); `isDir` as gitignore's trailing "/" needs it. */
  ignores?: (path: string, isDir: boolean) => boolean;
  /** Told of each socket, FIFO or device left out. */
  onSkipped?: (path: string, kind: SpecialKind) => void;
}

function specialKind(st: Stats): SpecialKind {
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  if (st.isBlockDevice()) return "block device";
  if (st.isCharacterDevice()) return "character device";
  return "special file";
}

/**
 * The entries under folder `dir` of `root` (the whole folder for ""); [] when it is missing.
 * Synchronous syscalls (thousands of thread-pool round trips otherwise), with a turn for the
 * event loop now and then.
 */
export async function scanFolder(root: string, dir = "", options: ScanOptions = {}): Promise<ScanEntry[]> {
  const start = checkedPath(dir, "folder");
  const { ignores, onSkipped } = options;
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
    // Plain concatenation: a name from readdir has no "/" and is never "." or "..".
    const prefix = rel === "" ? "" : `${rel}/`;
    for (const name of names) {
      if (++visited % YIELD_EVERY === 0) await nextTurn();
      const childRel = prefix + name;
      let st = lstatSync(at(dirFd, name), { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (ignores !== undefined && ignores(childRel, st.isDirectory())) continue;
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = readlinkSync(at(dirFd, name));
        } catch (error) {
          if (errnoOf(error) === "ENOENT" || errnoOf(error) === "EINVAL") continue; // gone, or no longer a link
          throw sysError(error, childRel, "read the link");
        }
        out.push({ path: childRel, type: "symlink", mode: st.mode & MODE_BITS, size: st.size, mtimeMs: st.mtimeMs, target });
      } else if (st.isFile()) out.push({ path: childRel, type: "file", mode: st.mode & MODE_BITS, size: st.size, mtimeMs: st.mtimeMs });
      else if (st.isDirectory()) {
        const childFd = openDirAt(dirFd, name, childRel, childRel, true);
        if (childFd === null) continue; // swapped for something else since the lstat
        try {
          st = fstatSync(childFd); // the folder walked, not the one lstat saw
          out.push({ path: childRel, type: "dir", mode: st.mode & MODE_BITS, size: 0, mtimeMs: st.mtimeMs });
          await walk(childRel, childFd);
        } finally {
          closeSync(childFd);
        }
      } else onSkipped?.(childRel, specialKind(st));
    }
  };
  try {
    await walk(start, startFd);
  } finally {
    closeSync(startFd);
  }
  return out;
}
