/**
 * Reads of files in a folder that may be changing while they are read, resolved by descriptors
 * (./safe-fs): a symlink among the parents is refused (UNSAFE_PATH) however late it is swapped
 * in, and only regular files are read (a FIFO, socket or device is refused without ever being
 * opened for I/O). Errors name paths relative to the folder, never host paths.
 */
import { close, closeSync, read, readFile, readSync } from "node:fs";
import { promisify } from "node:util";
import { SandboxError } from "../core/errors";
import type { ChunkedFile, InPlaceReads } from "../core/workspace";
import { checkedPath } from "./paths";
import { DirChain, openFileAt, splitPath, sysError } from "./safe-fs";

const readAsync = promisify(read);
const readFileAsync = promisify(readFile);
const closeAsync = promisify(close);

/** Files up to this size are read whole, synchronously, into one reused buffer. */
export const SMALL_READ = 1024 * 1024;

/**
 * Opens a regular file for reading, synchronously, resolved by descriptors (see ./safe-fs); null
 * if it is missing. Returns the descriptor and the size. `dirs` reuses the folders of a batch.
 */
export function openRegularSync(root: string, rel: string, dirs?: DirChain): { fd: number; size: number } | null {
  const p = checkedPath(rel);
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

/** Probes for bytes past the space readInto was given. */
const oneByte = Buffer.alloc(1);

/**
 * InPlaceReads over a folder, with openRegularSync's checks. A file that is gone or is no
 * regular file any more fails the read, as a file missing from exportTar fails a snapshot.
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
        return readSync(fd, oneByte, 0, 1, null) === 0 ? n : -1;
      } catch (error) {
        throw sysError(error, rel, "read");
      } finally {
        closeSync(fd);
      }
    },
    async openFile(rel): Promise<ChunkedFile> {
      const { fd, size } = open(rel);
      return {
        size,
        read: (buffer, offset, length) =>
          readAsync(fd, buffer, offset, length, null).then(
            (r) => r.bytesRead,
            (error: unknown) => {
              throw sysError(error, rel, "read");
            },
          ),
        close: () => closeAsync(fd),
      };
    },
  };
}

/** The whole content of regular file `rel`; a missing file is refused. */
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
