/**
 * Writes into a folder that may be changing while it is written (./safe-fs): files are made as
 * new files (O_EXCL|O_NOFOLLOW) in a folder reached by descriptors, after whatever non-folder was
 * at the path is unlinked, so nothing is ever written through a link or into a file hard-linked
 * to a host file. Modes lose setuid, setgid and sticky bits. Errors name relative paths only.
 */
import { closeSync, fchmodSync, futimesSync, write, writeSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { SandboxError } from "../core/errors";
import { checkedPath } from "./paths";
import { createFileAt, DirChain, MODE_BITS, splitPath, sysError } from "./safe-fs";

const writeAsync = promisify(write);

/**
 * The host path of a relative path whose parent folders exist and are real folders, or null
 * when one is missing. Only a check: whoever uses the path looks it up again (exec's cwd, which
 * bubblewrap resolves inside the sandbox). Host-side I/O goes through the functions of localfs.
 */
export function hostPathSync(root: string, rel: string): string | null {
  const p = checkedPath(rel);
  const dirs = new DirChain(root);
  try {
    return dirs.folder(splitPath(p).parents, p) === null ? null : path.join(root, p);
  } finally {
    dirs.close();
  }
}

/**
 * Makes the new file `rel` (parent folders too, 0755): whatever is at the path (a file, a symlink)
 * is unlinked first and a new file made with O_EXCL|O_NOFOLLOW in the verified parent folder.
 */
function createWorkspaceFile(root: string, rel: string, mode: number, dirs?: DirChain): { fd: number; p: string } {
  const p = checkedPath(rel);
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
export function writeWorkspaceFileSync(root: string, rel: string, content: Buffer, mode: number, mtime: Date | number, dirs?: DirChain): void {
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
  mtime?: Date | number,
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
