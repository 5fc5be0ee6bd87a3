/**
 * The filesystem adapter of the ObjectStore port: the embedded default. Objects are files under
 * the data dir (layout in fs-layout.ts, compatible with s3rver's), with no network listener at
 * all: only the user that runs Torpor (and root) can read or change them.
 *
 * Invariants:
 * - Private: every folder it creates or opens is 0700, every file 0600, whatever the umask; at
 *   open it also tightens the root and bucket folders (a data dir written by s3rver had 0755).
 * - All-or-nothing PUTs: bytes go to a temp file in <root>/.incoming, are fsynced, renamed over
 *   the object's path, and the folder is fsynced. A reader (or a crash) sees the old object, no
 *   object, or the whole new one; never a truncated one that HEAD reports as complete.
 * - Keys are checked (fs-layout.ts) before any path is built: no "..", no absolute keys.
 * - Listing walks one folder at a time in S3's key order (UTF-8 bytes), pruned to the prefix.
 * - Errors are classified as the S3 adapter's are (fs-errors.ts).
 */
import { randomBytes } from "node:crypto";
import { constants, type Dirent } from "node:fs";
import { access, chmod, mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { StorageError } from "../core/errors";
import { classifyFsError } from "./fs-errors";
import { compareKeys, INCOMING_DIR, OBJECT_SUFFIX, objectPath, SIDECAR_SUFFIXES } from "./fs-layout";
import type { ObjectInfo, ObjectStore, PutOptions } from "./types";

export interface FsObjectStoreOptions {
  /** Folder of the buckets (the data dir's s3 folder). */
  root: string;
  bucket: string;
  prefix?: string;
}

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const STAT_BATCH = 64;
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

type Body = Buffer | Uint8Array | string | Readable;

function isStream(body: Body): body is Readable {
  return typeof body === "object" && typeof (body as Readable).pipe === "function";
}

/** Creates (or tightens) the store's folders; call once before using the store. */
export async function prepareFsObjectStore(options: FsObjectStoreOptions): Promise<void> {
  const bucketDir = path.join(options.root, options.bucket);
  try {
    for (const dir of [options.root, bucketDir, path.join(options.root, INCOMING_DIR)]) {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
      await chmod(dir, DIR_MODE); // mkdir leaves an existing folder's mode (and the umask applies)
    }
    await removeAbandonedPuts(path.join(options.root, INCOMING_DIR));
  } catch (error) {
    throw classifyFsError(error, `opening the store`, options.root);
  }
}

/**
 * Temp files of PUTs a crash interrupted. Another process (the CLI beside the app) may be writing
 * one now: only files untouched for an hour go (a PUT in progress writes to its file all along).
 */
async function removeAbandonedPuts(dir: string): Promise<void> {
  const cutoff = Date.now() - ABANDONED_AFTER_MS;
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".partial")) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (info && info.mtimeMs < cutoff) await rm(file, { force: true });
  }
}

export function createFsObjectStore(options: FsObjectStoreOptions): ObjectStore {
  const prefix = options.prefix ?? "";
  const root = options.root;
  const bucketDir = path.join(root, options.bucket);
  const incoming = path.join(root, INCOMING_DIR);
  const fail = (error: unknown, what: string) => classifyFsError(error, what, root);

  async function openObject(key: string, what: string): Promise<{ handle: FileHandle; size: number }> {
    const file = objectPath(bucketDir, prefix + key);
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      throw fail(error, what);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new StorageError("STORAGE_PERMANENT", `The embedded object store refused ${what}: not a regular file`);
      return { handle, size: info.size };
    } catch (error) {
      await handle.close();
      throw fail(error, what);
    }
  }

  /** S3's rules for a Range: start inside the object, end clamped to its last byte. */
  function clamp(range: { start: number; end: number } | undefined, size: number, what: string): { start: number; end: number } {
    if (!range) return { start: 0, end: size - 1 };
    if (range.start < 0 || range.start >= size || range.end < range.start) {
      throw new StorageError("STORAGE_PERMANENT", `The embedded object store refused ${what}: InvalidRange (object of ${size} bytes)`, {
        details: { range, size },
      });
    }
    return { start: range.start, end: Math.min(range.end, size - 1) };
  }

  async function writeBody(handle: FileHandle, body: Body, what: string, expected?: number): Promise<void> {
    let written = 0;
    if (isStream(body)) {
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        await handle.write(bytes);
        written += bytes.length;
      }
    } else {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      await handle.write(bytes);
      written = bytes.length;
    }
    if (expected !== undefined && written !== expected) {
      throw new StorageError("STORAGE_PERMANENT", `${what}: the body had ${written} bytes, not the ${expected} announced`);
    }
  }

  async function fsyncDir(dir: string): Promise<void> {
    const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** The keys under `dir` (whose keys start with `dirKey`), in key order, that can match `wanted`. */
  async function* walk(dir: string, dirKey: string, wanted: string): AsyncGenerator<ObjectInfo> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return; // deleted meanwhile, or never written
      throw fail(error, `LIST ${wanted.slice(prefix.length)}`);
    }
    // A folder's keys all start with "<name>/": sorting folders by that string and files by
    // their key gives S3's order over the whole tree.
    const entries: { sortKey: string; name: string; folder: boolean }[] = [];
    for (const d of dirents) {
      if (d.isDirectory()) {
        const sortKey = `${dirKey}${d.name}/`;
        if (sortKey.startsWith(wanted) || wanted.startsWith(sortKey)) entries.push({ sortKey, name: d.name, folder: true });
      } else if (d.isFile() && d.name.endsWith(OBJECT_SUFFIX)) {
        const sortKey = dirKey + d.name.slice(0, -OBJECT_SUFFIX.length);
        if (sortKey.startsWith(wanted)) entries.push({ sortKey, name: d.name, folder: false });
      }
    }
    entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (let i = 0; i < entries.length; ) {
      const entry = entries[i]!;
      if (entry.folder) {
        yield* walk(path.join(dir, entry.name), entry.sortKey, wanted);
        i++;
        continue;
      }
      // A run of files: stat them in batches (a listing of 100k packs is 100k stats).
      const batch: typeof entries = [];
      while (i < entries.length && !entries[i]!.folder && batch.length < STAT_BATCH) batch.push(entries[i++]!);
      const infos = await Promise.all(
        batch.map((e) =>
          stat(path.join(dir, e.name)).then(
            (s) => ({ key: e.sortKey.slice(prefix.length), size: s.size, lastModified: Math.floor(s.mtimeMs) }),
            (error: NodeJS.ErrnoException) => {
              if (error.code === "ENOENT") return null; // deleted since the readdir
              throw fail(error, `LIST ${wanted.slice(prefix.length)}`);
            },
          ),
        ),
      );
      for (const info of infos) if (info) yield info;
    }
  }

  const store: ObjectStore = {
    description: `the embedded object store (files in the data dir's s3/${options.bucket}/${prefix})`,

    async put(key, body, putOptions?: PutOptions) {
      const what = `PUT ${key}`;
      const target = objectPath(bucketDir, prefix + key);
      const temporary = path.join(incoming, `${randomBytes(12).toString("hex")}.partial`);
      try {
        await mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
        const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, FILE_MODE);
        try {
          await writeBody(handle, body, what, putOptions?.contentLength);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temporary, target);
        await fsyncDir(path.dirname(target));
        // s3rver's sidecars describe the old bytes (its md5 is the ETag it serves): it rebuilds them.
        await Promise.all(SIDECAR_SUFFIXES.map((s) => rm(target.slice(0, -OBJECT_SUFFIX.length) + s, { force: true })));
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => {});
        const classified = fail(error, what);
        // A missing folder on a PUT is not a missing key: something removed the store's folders.
        if (classified.code === "NOT_FOUND") throw new StorageError("STORAGE_PERMANENT", `The embedded object store refused ${what}: its folders are missing`, { cause: error });
        throw classified;
      }
    },

    async getBuffer(key, range) {
      const what = `GET ${key}`;
      const { handle, size } = await openObject(key, what);
      try {
        if (size === 0 && !range) return Buffer.alloc(0);
        const { start, end } = clamp(range, size, what);
        const out = Buffer.allocUnsafe(end - start + 1); // a fresh buffer: it belongs to the caller
        for (let at = 0; at < out.length; ) {
          const { bytesRead } = await handle.read(out, at, out.length - at, start + at);
          if (bytesRead === 0) throw new StorageError("STORAGE_TRANSIENT", `${what}: the object shrank while it was read`);
          at += bytesRead;
        }
        return out;
      } catch (error) {
        throw fail(error, what);
      } finally {
        await handle.close();
      }
    },

    async getStream(key, range) {
      const what = `GET ${key}`;
      const { handle, size } = await openObject(key, what);
      try {
        if (size === 0 && !range) {
          await handle.close();
          return Readable.from([]);
        }
        const { start, end } = clamp(range, size, what);
        return handle.createReadStream({ start, end }); // closes the handle when done or destroyed
      } catch (error) {
        await handle.close();
        throw fail(error, what);
      }
    },

    async head(key) {
      try {
        const info = await stat(objectPath(bucketDir, prefix + key));
        if (!info.isFile()) return null;
        return { key, size: info.size, lastModified: Math.floor(info.mtimeMs) };
      } catch (error) {
        const classified = fail(error, `HEAD ${key}`);
        if (classified.code === "NOT_FOUND") return null;
        throw classified;
      }
    },

    list(listPrefix) {
      return walk(bucketDir, "", prefix + listPrefix);
    },

    async delete(keys) {
      const files = keys.map((key) => objectPath(bucketDir, prefix + key)); // every key checked first
      for (let i = 0; i < files.length; i += STAT_BATCH) {
        await Promise.all(
          files.slice(i, i + STAT_BATCH).map(async (file, j) => {
            const base = file.slice(0, -OBJECT_SUFFIX.length);
            try {
              for (const name of [file, ...SIDECAR_SUFFIXES.map((s) => base + s)]) await rm(name, { force: true });
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === "ENOTDIR") return; // a missing key
              throw fail(error, `DELETE ${keys[i + j]}`);
            }
          }),
        );
      }
    },

    async check() {
      try {
        const info = await stat(bucketDir);
        if (!info.isDirectory()) throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" });
        await access(bucketDir, constants.R_OK | constants.W_OK | constants.X_OK);
      } catch (error) {
        const classified = fail(error, `opening bucket '${options.bucket}'`);
        if (classified.code !== "NOT_FOUND") throw classified;
        throw new StorageError("STORAGE_PERMANENT", `Bucket '${options.bucket}' does not exist in the embedded object store`, {
          cause: error,
          details: { root },
        });
      }
    },
  };
  return store;
}
