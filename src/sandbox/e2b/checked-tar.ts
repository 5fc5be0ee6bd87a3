/**
 * The import-side safety check for providers that extract with tar inside the sandbox: a tar
 * stream is parsed and re-packed entry by entry, and the first entry that could land outside the
 * workspace stops it with UNSAFE_PATH before anything is extracted.
 *
 * Refused: absolute names, "..", and any entry below a symlink — one already in the workspace
 * (`existingLinks`) or one made earlier by the same archive (the classic "link -> /etc, then
 * link/passwd" escape). Folders and files that replace a symlink clear it, as tar itself does.
 */
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { SandboxError } from "../../core/errors";
import { parentsOf, workspacePath } from "../paths";

export function checkedTar(input: Readable, existingLinks: Iterable<string>): Readable {
  const links = new Set(existingLinks);
  const extract = tar.extract();
  const pack = tar.pack();
  const run = async (): Promise<void> => {
    const feeding = pipeline(input, extract as unknown as NodeJS.WritableStream);
    feeding.catch(() => undefined);
    for await (const entry of extract) {
      const header = entry.header;
      const name = workspacePath(header.name, "tar entry");
      for (const parent of parentsOf(name)) {
        if (links.has(parent)) {
          throw new SandboxError("UNSAFE_PATH", `Refused tar entry '${name}': '${parent}' is a symlink`, { details: { path: name } });
        }
      }
      if (header.type === "symlink") links.add(name);
      else links.delete(name);
      if (header.type === "link") workspacePath(header.linkname, "hard link target");
      if (!["file", "contiguous-file", "directory", "symlink", "link"].includes(header.type)) {
        throw new SandboxError("VALIDATION", `Unsupported tar entry type '${header.type}' for '${name}'`, { details: { path: name } });
      }
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ ...header, name }, (error) => (error ? reject(error) : resolve()));
        entry.pipe(sink as unknown as NodeJS.WritableStream);
      });
    }
    await feeding;
    pack.finalize();
  };
  run().catch((error: unknown) => {
    input.destroy();
    extract.destroy();
    pack.destroy(error as Error);
  });
  return pack as unknown as Readable;
}
