/**
 * The import-side safety check for providers that extract with tar inside the sandbox: the tar
 * stream is read entry by entry, each entry judged, then written again to `body` (what is
 * uploaded) with its mode masked to the permission bits; `verdict` says whether every entry
 * passed. The caller extracts only after the verdict is in, so an unsafe archive is refused
 * (UNSAFE_PATH) before anything of it is extracted — and no refused entry is in `body`.
 *
 * Refused: absolute names, "..", and any entry below a symlink — one already in the workspace
 * (`existingLinks`) or one made earlier by the same archive (the classic "link -> /etc, then
 * link/passwd" escape). Folders and files that replace a symlink clear it, as tar itself does.
 * A hard link is refused when its target is a symlink or lies below one: tar would link through
 * it (to a file outside the workspace), or make the link's name a second, unchecked symlink.
 *
 * Stripped, not refused: setuid, setgid and sticky bits (mode & 0o777), as the local provider
 * does. The entry is re-encoded rather than chmodded after extraction, so no such bit exists in
 * the sandbox even for a moment; pax records (sub-second mtimes, long names) are carried over.
 */
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { SandboxError } from "../../core/errors";
import { parentsOf, workspacePath } from "../paths";

const SUPPORTED = new Set(["file", "contiguous-file", "directory", "symlink", "link"]);
/** Permission bits only: what a restore or import may set. */
export const MODE_BITS = 0o777;

export function checkedTar(input: Readable, existingLinks: Iterable<string>): { body: Readable; verdict: Promise<void> } {
  const links = new Set(existingLinks);
  const pack = tar.pack();
  const body = new PassThrough();
  const extract = tar.extract();

  const judge = (header: tar.Header): void => {
    const name = workspacePath(header.name, "tar entry");
    for (const parent of parentsOf(name)) {
      if (links.has(parent)) {
        throw new SandboxError("UNSAFE_PATH", `Refused tar entry '${name}': '${parent}' is a symlink`, { details: { path: name } });
      }
    }
    if (!SUPPORTED.has(header.type ?? "file")) {
      throw new SandboxError("VALIDATION", `Unsupported tar entry type '${header.type}' for '${name}'`, { details: { path: name } });
    }
    if (header.type === "link") {
      // tar's link(2) resolves the target's path: a symlink on it (or the target itself being
      // one, which makes the new name a symlink this check never recorded) leaves the workspace.
      const target = workspacePath(header.linkname ?? "", "hard link target");
      for (const p of [...parentsOf(target), target]) {
        if (links.has(p)) {
          throw new SandboxError("UNSAFE_PATH", `Refused hard link '${name}': its target '${target}' goes through the symlink '${p}'`, { details: { path: name } });
        }
      }
    }
    if (header.type === "symlink") links.add(name);
    else links.delete(name);
  };

  const copy = async (): Promise<void> => {
    for await (const entry of extract) {
      const header = entry.header;
      judge(header);
      // path and linkpath are written again from name and linkname: drop them from the records.
      const { path: _path, linkpath: _linkpath, ...pax } = (header as tar.Header & { pax?: Record<string, string> }).pax ?? {};
      const out = { ...header, mode: (header.mode ?? 0) & MODE_BITS, pax: Object.keys(pax).length > 0 ? pax : undefined };
      if (header.type === "file" || header.type === "contiguous-file") {
        await pipeline(entry, pack.entry(out) as unknown as NodeJS.WritableStream);
      } else {
        entry.resume();
        await new Promise<void>((resolve, reject) => pack.entry(out, (error) => (error ? reject(error) : resolve())));
      }
    }
    pack.finalize();
  };

  const feeding = pipeline(input as unknown as NodeJS.ReadableStream, extract as unknown as NodeJS.WritableStream);
  const copying = copy();
  // Forwarded by hand, not piped: on a refusal the body just ends (a truncated archive the
  // caller never extracts: it waits for the verdict), while the pack is torn down.
  let failed = false;
  pack.on("data", (chunk: unknown) => {
    if (!failed && !body.write(chunk as Buffer)) pack.pause();
  });
  body.on("drain", () => pack.resume());
  pack.on("end", () => failed || body.end());
  pack.on("error", () => undefined); // a failed entry fails `copying`, which the verdict reports
  const verdict = copying.then(() => feeding).then(
    () => undefined,
    (error: unknown) => {
      failed = true;
      body.end();
      extract.destroy();
      pack.destroy();
      input.destroy();
      throw error; // the judge's own refusal first: the feeding fails only in its wake
    },
  );
  feeding.catch(() => undefined);
  copying.catch(() => undefined);
  verdict.catch(() => undefined); // the caller awaits it after the upload
  return { body, verdict };
}
