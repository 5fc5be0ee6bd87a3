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
import { constants, createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { SandboxError } from "../../core/errors";
import type { ScanEntry } from "../../checkpoint/types";
import { parentsOf, workspacePath } from "../paths";

const NOFOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW;
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The host path of a workspace path whose parent folders exist and are real folders.
 * `create` makes missing parents (mode 0755). Returns null when a parent is missing.
 */
export async function hostPath(root: string, rel: string, create = false): Promise<string | null> {
  const p = workspacePath(rel);
  for (const parent of parentsOf(p)) {
    const abs = path.join(root, parent);
    try {
      const st = await fs.lstat(abs);
      if (st.isSymbolicLink()) {
        throw new SandboxError("UNSAFE_PATH", `Refused path '${p}': '${parent}' is a symlink`, { details: { path: p } });
      }
      if (!st.isDirectory()) {
        throw new SandboxError("PROVIDER", `Cannot use path '${p}': '${parent}' is not a folder`, { details: { path: p } });
      }
    } catch (error) {
      if (code(error) !== "ENOENT") throw error;
      if (!create) return null;
      await fs.mkdir(abs, { mode: 0o755 });
    }
  }
  return path.join(root, p);
}

/** lstat walk of the workspace (or a folder in it); never follows symlinks; sorted by path. */
export async function scanFolder(root: string, dir = ""): Promise<ScanEntry[]> {
  const start = workspacePath(dir, "folder");
  const abs = await hostPath(root, start);
  if (abs === null) return [];
  const out: ScanEntry[] = [];
  const walk = async (rel: string, absDir: string): Promise<void> => {
    let names: string[];
    try {
      names = await fs.readdir(absDir);
    } catch (error) {
      if (code(error) === "ENOENT") return; // removed while we walked
      throw error;
    }
    names.sort();
    for (const name of names) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      const childAbs = path.join(absDir, name);
      let st;
      try {
        st = await fs.lstat(childAbs);
      } catch (error) {
        if (code(error) === "ENOENT") continue;
        throw error;
      }
      const base = { path: childRel, mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs };
      if (st.isSymbolicLink()) out.push({ ...base, type: "symlink", target: await fs.readlink(childAbs) });
      else if (st.isFile()) out.push({ ...base, type: "file" });
      else if (st.isDirectory()) {
        out.push({ ...base, type: "dir", size: 0 });
        await walk(childRel, childAbs);
      } // sockets, fifos and devices are not workspace content
    }
  };
  if (start !== "") {
    const st = await fs.lstat(abs).catch(() => null);
    if (!st?.isDirectory()) return [];
  }
  await walk(start, abs);
  return out;
}

/** Opens a regular file for reading without following a final symlink; null if it is missing. */
export async function openRegular(root: string, rel: string): Promise<fs.FileHandle | null> {
  const abs = await hostPath(root, rel);
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

/** SHA-256 of each file, streamed; files that no longer exist are left out of the result. */
export async function hashFolderFiles(root: string, paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of paths) {
    const handle = await openRegular(root, rel);
    if (handle === null) continue;
    const hash = createHash("sha256");
    const stream = createReadStream("", { fd: handle, autoClose: true });
    for await (const chunk of stream) hash.update(chunk as Buffer);
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
export async function writeWorkspaceFile(
  root: string,
  rel: string,
  content: Buffer | string | AsyncIterable<Uint8Array>,
  mode = 0o644,
): Promise<string> {
  const p = workspacePath(rel);
  if (p === "") throw new SandboxError("UNSAFE_PATH", "Cannot write the workspace folder itself as a file");
  const abs = (await hostPath(root, p, true))!;
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
