/**
 * The import-side safety check for providers that extract with tar inside the sandbox: the tar
 * stream is forwarded byte for byte (`body`, to upload) while a parser reads the same bytes and
 * judges every entry (`verdict`). The caller extracts only after the verdict is in, so an unsafe
 * archive is refused (UNSAFE_PATH) before anything of it is extracted.
 *
 * Refused: absolute names, "..", and any entry below a symlink — one already in the workspace
 * (`existingLinks`) or one made earlier by the same archive (the classic "link -> /etc, then
 * link/passwd" escape). Folders and files that replace a symlink clear it, as tar itself does.
 */
import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";
import * as tar from "tar-stream";
import { SandboxError } from "../../core/errors";
import { parentsOf, workspacePath } from "../paths";

const SUPPORTED = new Set(["file", "contiguous-file", "directory", "symlink", "link"]);

export function checkedTar(input: Readable, existingLinks: Iterable<string>): { body: Readable; verdict: Promise<void> } {
  const links = new Set(existingLinks);
  const body = new PassThrough();
  const extract = tar.extract();

  const judge = async (): Promise<void> => {
    for await (const entry of extract) {
      const header = entry.header;
      entry.resume();
      const name = workspacePath(header.name, "tar entry");
      for (const parent of parentsOf(name)) {
        if (links.has(parent)) {
          throw new SandboxError("UNSAFE_PATH", `Refused tar entry '${name}': '${parent}' is a symlink`, { details: { path: name } });
        }
      }
      if (!SUPPORTED.has(header.type)) {
        throw new SandboxError("VALIDATION", `Unsupported tar entry type '${header.type}' for '${name}'`, { details: { path: name } });
      }
      if (header.type === "link") workspacePath(header.linkname, "hard link target");
      if (header.type === "symlink") links.add(name);
      else links.delete(name);
    }
  };
  const judged = judge();
  judged.catch(() => extract.destroy());

  const forward = async (): Promise<void> => {
    try {
      for await (const chunk of input as AsyncIterable<Uint8Array>) {
        if (!body.write(chunk)) await once(body, "drain");
        // Wait for the parser too, unless it has already given its verdict (a refusal).
        if (!extract.write(chunk)) await Promise.race([once(extract as unknown as NodeJS.EventEmitter, "drain"), judged.catch(() => undefined)]);
        if (extract.destroyed) break;
      }
    } finally {
      body.end();
      if (!extract.destroyed) (extract as unknown as NodeJS.WritableStream).end();
    }
  };
  const verdict = forward().then(() => judged);
  verdict.catch(() => undefined); // the caller awaits it after the upload
  return { body, verdict };
}
