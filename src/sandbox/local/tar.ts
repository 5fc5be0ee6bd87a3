/**
 * Batched transfer for host folders: one tar stream out (exportFolderTar) and one in
 * (importFolderTar), in the format every provider speaks (ustar with pax records; sub-second
 * mtimes travel in the pax "mtime" record).
 *
 * Export is not recursive: each listed path becomes exactly one entry (a file with its bytes, a
 * folder, or a symlink with its target); paths that no longer exist are left out. Import refuses
 * (UNSAFE_PATH) "..", absolute names and anything that would be written through a symlink, so
 * nothing lands outside the workspace; folders get their mode and mtime after their content.
 */
import { closeSync, createReadStream, fchmodSync, futimesSync, lstatSync, lutimesSync, mkdirSync, readlinkSync, symlinkSync } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { SandboxError } from "../../core/errors";
import { headerMtimeMs, paxMtime, workspacePath } from "../paths";
import { at, DirChain, MODE_BITS, openDirAt, openFileAt, openRegularSync, readWhole, removeNonDirAt, splitPath, sysError, writeWorkspaceFile, writeWorkspaceFileSync } from "../../localfs";

export function exportFolderTar(root: string, paths: string[]): Readable {
  const names = [...new Set(paths.map((p) => workspacePath(p)))].filter((p) => p !== "");
  const pack = tar.pack();
  const dirs = new DirChain(root);
  const fill = async (): Promise<void> => {
    for (const name of names) {
      // Looked up by descriptors (src/localfs/safe-fs); the parent's descriptor is used before any await.
      const { parents, leaf } = splitPath(name);
      const parent = dirs.folder(parents, name);
      if (parent === null) continue;
      const st = lstatSync(at(parent, leaf), { throwIfNoEntry: false });
      if (st === undefined) continue;
      const base = { name, mode: st.mode & MODE_BITS, mtime: st.mtime, pax: { mtime: paxMtime(st.mtimeMs) } };
      if (st.isSymbolicLink()) {
        let linkname: string;
        try {
          linkname = readlinkSync(at(parent, leaf));
        } catch (error) {
          throw sysError(error, name, "read the link");
        }
        await addEntry(pack, { ...base, type: "symlink", linkname });
      } else if (st.isDirectory()) {
        await addEntry(pack, { ...base, type: "directory" });
      } else if (st.isFile()) {
        const file = openFileAt(parent, leaf, name);
        if (file === null) continue;
        if (file.size <= SMALL_FILE) {
          // Read whole, synchronously; a file that grew past the size is sent with the size it
          // had when opened, like tar.
          let data: Buffer;
          try {
            data = Buffer.allocUnsafe(file.size);
            data = data.subarray(0, file.size === 0 ? 0 : readWhole(file.fd, data));
          } catch (error) {
            throw sysError(error, name, "read");
          } finally {
            closeSync(file.fd);
          }
          await addEntry(pack, { ...base, type: "file", size: data.length }, data);
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ ...base, type: "file", size: file.size }, (error) => (error ? reject(error) : resolve()));
          const source = createReadStream("", { fd: file.fd, start: 0, end: file.size - 1, autoClose: true });
          source.once("error", (error) => {
            entry.destroy(error);
            reject(error);
          });
          source.pipe(entry as unknown as NodeJS.WritableStream);
        });
      } // sockets, FIFOs and devices are not workspace content
    }
    pack.finalize();
  };
  fill()
    .catch((error: unknown) => pack.destroy(error as Error))
    .finally(() => dirs.close());
  return pack as unknown as Readable;
}

type EntryHeader = Parameters<tar.Pack["entry"]>[0];

function addEntry(pack: tar.Pack, header: EntryHeader, content?: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null): void => (error ? reject(error) : resolve());
    if (content === undefined) pack.entry(header, done);
    else pack.entry(header, content, done);
  });
}

export async function importFolderTar(root: string, input: Readable): Promise<void> {
  // Piping a stream already destroyed (or, for streamx, being destroyed) never settles: the writer gave up first.
  if (input.destroyed || (input as { destroying?: boolean }).destroying) throw new SandboxError("PROVIDER", "The archive to import was closed before the import started");
  const extract = tar.extract();
  const feeding = pipeline(input, extract);
  feeding.catch(() => undefined); // awaited below; the loop may stop it early
  const importer = workspaceImporter(root);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const name = workspacePath(header.name, "tar entry");
      if (name === "") {
        entry.resume();
        continue;
      }
      const type = TAR_TYPES[header.type ?? ""];
      if (type === undefined) {
        entry.resume();
        throw new SandboxError("VALIDATION", `Unsupported tar entry type '${header.type}' for '${name}'`, {
          details: { path: name },
        });
      }
      if (type !== "file") entry.resume();
      await importer.write({
        name,
        type,
        mode: (header.mode ?? 0o644) & MODE_BITS,
        mtime: new Date(headerMtimeMs({ mtime: header.mtime, pax: header.pax as Record<string, string> | null })),
        size: header.size ?? 0,
        linkname: header.linkname ?? undefined,
        content: entry as AsyncIterable<Uint8Array>,
      });
    }
    await feeding;
  } catch (error) {
    extract.destroy();
    input.destroy();
    throw error;
  }
  importer.finish();
}

const TAR_TYPES: Record<string, ImportEntry["type"] | undefined> = {
  file: "file",
  "contiguous-file": "file",
  directory: "dir",
  symlink: "symlink",
  link: "link",
};

export interface ImportEntry {
  /** A checked workspace path (workspacePath). */
  name: string;
  type: "file" | "dir" | "symlink" | "link";
  mode: number;
  mtime: Date;
  size: number;
  /** Symlinks: the target; hard links: the workspace path they point to. */
  linkname?: string;
  /** Files: the bytes already in memory, or else a stream of them. */
  data?: Buffer;
  content?: AsyncIterable<Uint8Array>;
}

/**
 * Writes entries into a workspace one by one, with the host-side checks of files.ts (folders
 * resolved by descriptors, never through a symlink; a file replaced rather than written through);
 * folders get their mode and mtime at `finish()`, deepest first, so that a read-only folder does
 * not stop its children. Modes lose setuid, setgid and sticky bits. Used by the tar import and by
 * the provider's direct writes (no tar stream in between).
 */
export function workspaceImporter(root: string): { write(entry: ImportEntry): Promise<void>; finish(): void } {
  const dirs = new DirChain(root);
  const folders: { name: string; mode: number; mtimeMs: number }[] = [];
  return {
    async write({ name, type, mode, mtime, size, linkname, data, content }) {
      mode &= MODE_BITS;
      if (type === "file" && (data !== undefined || size <= SMALL_FILE)) {
        // Small files in memory, written with synchronous syscalls: thousands of them are
        // otherwise thousands of thread-pool round trips each.
        const bytes = data ?? (content ? await collect(content) : Buffer.alloc(0));
        writeWorkspaceFileSync(root, name, bytes, mode, mtime, dirs);
      } else if (type === "file") {
        await writeWorkspaceFile(root, name, content ?? Buffer.alloc(0), mode, mtime, dirs);
      } else if (type === "dir") {
        const { parents, leaf } = splitPath(name);
        const parent = dirs.folder(parents, name, true)!;
        const st = lstatSync(at(parent, leaf), { throwIfNoEntry: false });
        if (!st?.isDirectory()) {
          removeNonDirAt(parent, leaf, name, "a folder");
          try {
            mkdirSync(at(parent, leaf), { mode: 0o755 });
          } catch (error) {
            throw sysError(error, name, "create the folder");
          }
        }
        folders.push({ name, mode, mtimeMs: mtime.getTime() });
      } else if (type === "symlink") {
        const { parents, leaf } = splitPath(name);
        const parent = dirs.folder(parents, name, true)!;
        removeNonDirAt(parent, leaf, name, "a symlink");
        try {
          symlinkSync(linkname ?? "", at(parent, leaf));
          lutimesSync(at(parent, leaf), mtime, mtime);
        } catch (error) {
          throw sysError(error, name, "create the symlink");
        }
      } else {
        const from = workspacePath(linkname ?? "", "hard link target");
        const source = openRegularSync(root, from, dirs);
        if (source === null) throw new SandboxError("PROVIDER", `Hard link '${name}' points to missing '${from}'`, { details: { path: name } });
        const stream = createReadStream("", { fd: source.fd, autoClose: true });
        try {
          await writeWorkspaceFile(root, name, stream, mode, mtime, dirs);
        } finally {
          stream.destroy();
        }
      }
    },
    finish() {
      const depth = (p: string): number => p.split("/").length;
      folders.sort((a, b) => depth(b.name) - depth(a.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      try {
        for (const folder of folders) {
          const { parents, leaf } = splitPath(folder.name);
          const parent = dirs.folder(parents, folder.name);
          const fd = parent === null ? null : openDirAt(parent, leaf, folder.name, folder.name);
          if (fd === null) throw new SandboxError("PROVIDER", `Folder '${folder.name}' vanished during the restore`, { details: { path: folder.name } });
          try {
            fchmodSync(fd, folder.mode);
            futimesSync(fd, new Date(folder.mtimeMs), new Date(folder.mtimeMs));
          } finally {
            closeSync(fd);
          }
        }
      } finally {
        dirs.close();
      }
    },
  };
}

/** Files up to this size are taken whole in memory, on export and on import. */
const SMALL_FILE = 1024 * 1024;

async function collect(entry: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
