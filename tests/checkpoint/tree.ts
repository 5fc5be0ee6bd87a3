/**
 * Test helpers for workspaces: build a folder from a compact description, and read a folder back
 * into a comparable description (type, mode, bytes' hash, symlink target, mtime).
 */
import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export type TreeSpec = Record<string, string | Buffer | { content: string | Buffer; mode?: number } | { link: string } | { dir: true; mode?: number }>;

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `torpor-${label}-`));
}

/** Temp folders a test file makes, removed together in its afterAll. */
export function tempDirs(): { make(label: string): Promise<string>; removeAll(): Promise<void> } {
  const made: string[] = [];
  return {
    async make(label) {
      const dir = await tempDir(label);
      made.push(dir);
      return dir;
    },
    async removeAll() {
      for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Files get an mtime an hour ago, as in a workspace at rest (recent mtimes are re-read as racy). */
export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  await mkdir(root, { recursive: true });
  const past = (Date.now() - 3600_000) / 1000;
  for (const [rel, value] of Object.entries(spec)) {
    const abs = path.join(root, rel);
    await mkdir(path.dirname(abs), { recursive: true });
    if (typeof value === "string" || Buffer.isBuffer(value)) await writeFile(abs, value);
    else if ("link" in value) await symlink(value.link, abs);
    else if ("dir" in value) {
      await mkdir(abs, { recursive: true });
      if (value.mode !== undefined) await chmod(abs, value.mode);
    } else {
      await writeFile(abs, value.content);
      if (value.mode !== undefined) await chmod(abs, value.mode);
    }
    if (typeof value === "string" || Buffer.isBuffer(value) || "content" in value) await utimes(abs, past, past);
  }
}

export interface TreeEntry {
  type: "file" | "dir" | "symlink";
  mode: number;
  sha256?: string;
  size?: number;
  target?: string;
  mtimeMs?: number;
}

/** Every entry under root, keyed by relative path. File and symlink mtimes are included. */
export async function readTree(root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  async function walk(rel: string): Promise<void> {
    for (const name of (await readdir(path.join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const s = await lstat(abs);
      if (s.isDirectory()) {
        out[r] = { type: "dir", mode: s.mode & 0o7777 };
        await walk(r);
      } else if (s.isSymbolicLink()) {
        out[r] = { type: "symlink", mode: 0, target: await readlink(abs) };
      } else if (s.isFile()) {
        const data = await readFile(abs);
        out[r] = {
          type: "file",
          mode: s.mode & 0o7777,
          size: data.length,
          sha256: createHash("sha256").update(data).digest("hex"),
          mtimeMs: Math.round(s.mtimeMs),
        };
      }
    }
  }
  await walk("");
  return out;
}

/** Sets a file's mtime to a fixed time, so that tests can make "same size, same mtime" cases. */
export async function setMtime(abs: string, ms: number): Promise<void> {
  await utimes(abs, ms / 1000, ms / 1000);
}

/** Deterministic pseudo-random bytes (incompressible), for large-file tests. */
export function noise(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
