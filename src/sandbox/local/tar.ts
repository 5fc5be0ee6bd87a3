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
import { chmodSync, closeSync, createReadStream, lstatSync, lutimesSync, mkdirSync, unlinkSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { SandboxError } from "../../core/errors";
import { headerMtimeMs, paxMtime, workspacePath } from "../paths";
import { hostPathSync, openCheckedSync, openRegular, readWhole, writeWorkspaceFile, writeWorkspaceFileSync } from "./files";

export function exportFolderTar(root: string, paths: string[]): Readable {
  const names = [...new Set(paths.map((p) => workspacePath(p)))].filter((p) => p !== "");
  const pack = tar.pack();
  const fill = async (): Promise<void> => {
    for (const name of names) {
      const abs = hostPathSync(root, name);
      if (abs === null) continue;
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st === undefined) continue;
      const base = { name, mode: st.mode & 0o7777, mtime: st.mtime, pax: { mtime: paxMtime(st.mtimeMs) } };
      if (st.isSymbolicLink()) {
        await addEntry(pack, { ...base, type: "symlink", linkname: await fs.readlink(abs) });
      } else if (st.isDirectory()) {
        await addEntry(pack, { ...base, type: "directory" });
      } else if (st.isFile() && st.size <= SMALL_FILE) {
        // Read whole, synchronously (see hostPathSync); a file that grew past the size is sent
        // with the size it had when opened, like tar.
        // The parents were checked just above (hostPathSync): only the open is left.
        const file = openCheckedSync(abs, name);
        if (file === null) continue;
        let data: Buffer;
        try {
          const size = Math.min(file.size, SMALL_FILE);
          data = Buffer.allocUnsafe(size);
          data = data.subarray(0, size === 0 ? 0 : readWhole(file.fd, data));
        } finally {
          closeSync(file.fd);
        }
        await addEntry(pack, { ...base, type: "file", size: data.length }, data);
      } else if (st.isFile()) {
        const handle = await openRegular(root, name);
        if (handle === null) continue;
        const size = (await handle.stat()).size;
        if (size === 0) {
          await handle.close();
          await addEntry(pack, { ...base, type: "file", size }, "");
          continue;
        }
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ ...base, type: "file", size }, (error) => (error ? reject(error) : resolve()));
          const source = createReadStream("", { fd: handle, start: 0, end: size - 1, autoClose: true });
          source.once("error", (error) => {
            entry.destroy(error);
            reject(error);
          });
          source.pipe(entry as unknown as NodeJS.WritableStream);
        });
      }
    }
    pack.finalize();
  };
  fill().catch((error: unknown) => pack.destroy(error as Error));
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
        mode: (header.mode ?? 0o644) & 0o7777,
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
 * Writes entries into a workspace one by one, with the host-side checks of files.ts (no symlink
 * among the parents, a file replaced rather than written through); folders get their mode and
 * mtime at `finish()`, deepest first, so that a read-only folder does not stop its children.
 * Used by the tar import and by the provider's direct writes (no tar stream in between).
 */
export function workspaceImporter(root: string): { write(entry: ImportEntry): Promise<void>; finish(): void } {
  const dirs: { abs: string; mode: number; mtimeMs: number }[] = [];
  return {
    async write({ name, type, mode, mtime, size, linkname, data, content }) {
      if (type === "file" && (data !== undefined || size <= SMALL_FILE)) {
        // Small files in memory, written with synchronous syscalls: thousands of them are
        // otherwise thousands of thread-pool round trips each (see hostPathSync).
        writeWorkspaceFileSync(root, name, data ?? (content ? await collect(content) : Buffer.alloc(0)), mode, mtime);
      } else if (type === "file") {
        const abs = await writeWorkspaceFile(root, name, content ?? Buffer.alloc(0), mode);
        await fs.lutimes(abs, mtime, mtime);
      } else if (type === "dir") {
        const abs = hostPathSync(root, name, true)!;
        const st = lstatSync(abs, { throwIfNoEntry: false });
        if (st?.isSymbolicLink() || (st && !st.isDirectory())) unlinkSync(abs);
        if (!st?.isDirectory()) mkdirSync(abs, { mode: 0o755 });
        dirs.push({ abs, mode, mtimeMs: mtime.getTime() });
      } else if (type === "symlink") {
        const abs = hostPathSync(root, name, true)!;
        await removeNonDir(abs, name);
        await fs.symlink(linkname ?? "", abs);
        await fs.lutimes(abs, mtime, mtime);
      } else {
        const from = workspacePath(linkname ?? "", "hard link target");
        const handle = await openRegular(root, from);
        if (handle === null) throw new SandboxError("PROVIDER", `Hard link '${name}' points to missing '${from}'`);
        const abs = await writeWorkspaceFile(root, name, handle.createReadStream(), mode);
        await fs.lutimes(abs, mtime, mtime);
      }
    },
    finish() {
      dirs.sort((a, b) => b.abs.split(path.sep).length - a.abs.split(path.sep).length);
      for (const dir of dirs) {
        chmodSync(dir.abs, dir.mode);
        lutimesSync(dir.abs, new Date(dir.mtimeMs), new Date(dir.mtimeMs));
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

async function removeNonDir(abs: string, name: string): Promise<void> {
  const st = await fs.lstat(abs).catch(() => null);
  if (st === null) return;
  if (st.isDirectory()) throw new SandboxError("PROVIDER", `Cannot replace folder '${name}' with a symlink`, { details: { path: name } });
  await fs.unlink(abs);
}
