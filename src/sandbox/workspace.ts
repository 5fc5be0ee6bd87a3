/**
 * A sandbox seen by the checkpoint engine: the WorkspaceSource a snapshot reads and the
 * WorkspaceTarget a restore writes, both over one SandboxProvider, with batched transfer —
 * readFiles asks for ONE tar stream holding all the paths, write sends ONE tar stream.
 *
 * readFiles yields the regular files among the paths as they come out of the archive (files that
 * vanished since the scan are left out: the engine sees which). Each yielded stream should be read
 * before asking for the next one; if it is not, the rest of it is buffered in memory so that the
 * archive can move on (correct, but costs memory).
 */
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { ConflictError, SandboxError } from "../core/errors";
import type { InPlaceReads, ManifestEntry, ScanEntry, WorkspaceSource, WorkspaceTarget } from "../core/workspace";
import { paxMtime, workspacePath } from "./paths";
import type { SandboxProvider } from "./types";

export function sandboxWorkspace(provider: SandboxProvider, sandboxId: string): WorkspaceSource & WorkspaceTarget & Partial<InPlaceReads> {
  return {
    // A provider whose workspaces are host folders lets the snapshot read files in place.
    ...provider.inPlaceReads?.(sandboxId),
    scan: (): Promise<ScanEntry[]> => provider.scan(sandboxId),
    hashFiles: (paths: string[]) => provider.hashFiles(sandboxId, paths),
    readFiles: (paths: string[]) => readFiles(provider, sandboxId, paths),

    async prepare({ allowNonEmpty }: { allowNonEmpty: boolean }): Promise<void> {
      if (allowNonEmpty) return;
      const entries = await provider.scan(sandboxId);
      if (entries.length > 0) {
        throw new ConflictError("CONFLICT", `The workspace of sandbox '${sandboxId}' is not empty (${entries.length} entries)`, {
          details: { sandboxId, entries: entries.length },
        });
      }
    },

    async write(entries: AsyncIterable<{ entry: ManifestEntry; content?: Readable }>): Promise<void> {
      // A provider with host folders takes the entries themselves: no tar stream in between.
      if (provider.writeEntries) return provider.writeEntries(sandboxId, entries);
      const pack = tar.pack();
      const importing = provider.importTar(sandboxId, pack as unknown as Readable);
      importing.catch(() => undefined); // awaited below, after the pack ends or fails
      try {
        for await (const { entry, content } of entries) await addToPack(pack, entry, content);
        pack.finalize();
      } catch (error) {
        pack.on("error", () => undefined); // our own error, rethrown below; the import may not listen any more
        pack.destroy(error as Error);
        await importing.catch(() => undefined);
        throw error;
      }
      await importing;
    },
  };
}

async function* readFiles(
  provider: SandboxProvider,
  sandboxId: string,
  paths: string[],
): AsyncGenerator<{ path: string; size: number; stream: Readable }> {
  const wanted = new Set(paths.map((p) => workspacePath(p)));
  if (wanted.size === 0) return;
  const archive = await provider.exportTar(sandboxId, [...wanted]);
  const extract = tar.extract();
  const feeding = pipeline(archive, extract as unknown as NodeJS.WritableStream);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const name = workspacePath(entry.header.name, "tar entry");
      if (entry.header.type !== "file" || !wanted.has(name)) {
        entry.resume();
        continue;
      }
      wanted.delete(name);
      const out = new PassThrough();
      let released = false;
      const ended = new Promise<void>((resolve, reject) => {
        entry.once("end", () => {
          out.end();
          resolve();
        });
        entry.once("error", (error: Error) => {
          out.destroy(error);
          reject(error);
        });
      });
      ended.catch(() => undefined); // awaited below unless the consumer stops early
      entry.on("data", (chunk: unknown) => {
        if (!out.write(chunk as Buffer) && !released) entry.pause();
      });
      out.on("drain", () => entry.resume());
      yield { path: name, size: entry.header.size, stream: out };
      // The consumer asked for the next file: let the rest of this one flow into its buffer.
      released = true;
      entry.resume();
      await ended;
    }
    await feeding;
  } finally {
    extract.destroy();
    archive.destroy();
  }
}

async function addToPack(pack: tar.Pack, entry: ManifestEntry, content: Readable | undefined): Promise<void> {
  const name = workspacePath(entry.path, "manifest path");
  const base = { name, mode: entry.mode, mtime: new Date(entry.mtimeMs), pax: { mtime: paxMtime(entry.mtimeMs) } };
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null): void => (error ? reject(error) : resolve());
    if (entry.type === "dir") {
      content?.resume();
      pack.entry({ ...base, type: "directory" }, done);
    } else if (entry.type === "symlink") {
      content?.resume();
      pack.entry({ ...base, type: "symlink", linkname: entry.target ?? "" }, done);
    } else {
      if (content === undefined && entry.size > 0) {
        reject(new SandboxError("VALIDATION", `No content for file '${name}'`, { details: { path: name } }));
        return;
      }
      // A stream that failed while it waited (a blob refused before its turn) emits nothing more: piping it would hang.
      if (content?.destroyed) return reject(content.errored ?? new SandboxError("PROVIDER", `Content of '${name}' closed before it was written`));
      const sink = pack.entry({ ...base, type: "file", size: entry.size }, done);
      // The sink re-emits a failed content stream's error: without a listener it is uncaught (crashes the process).
      sink.on("error", reject);
      if (content === undefined) return void sink.end(Buffer.alloc(0));
      content.once("error", (error) => {
        sink.destroy(error);
        reject(error);
      });
      content.pipe(sink as unknown as NodeJS.WritableStream);
    }
  });
}
