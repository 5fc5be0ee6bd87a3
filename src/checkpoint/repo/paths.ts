/**
 * Path safety. A workspace path is relative, "/"-separated, with no empty, "." or ".." segment and
 * no NUL. A manifest is safe to restore when every path is such a path, no path appears twice, the
 * parent of every entry is a dir entry of the manifest, and no entry lies under a symlink entry:
 * then, since restore creates symlinks last, nothing is ever written through a link or outside the
 * target. Symlink targets themselves may point anywhere (absolute links are legitimate); they are
 * only never followed while restoring.
 */
import { IntegrityError } from "../../core/errors";
import { unsafePathReason } from "../../core/workspace-paths";
import type { ManifestEntry, ScanEntry } from "../types";

/** The one path rule (src/core/workspace-paths); re-exported for the checkpoint code. */
export { unsafePathReason };

export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function unsafe(path: string, reason: string, checkpoint?: string): never {
  const where = checkpoint ? `Checkpoint ${checkpoint}: ` : "";
  throw new IntegrityError("UNSAFE_PATH", `${where}refused entry '${path}': ${reason}`, { details: { path, reason } });
}

/** Throws UNSAFE_PATH unless every entry can be restored inside the target (see module doc). */
export function assertRestorable(entries: readonly ManifestEntry[], checkpoint?: string): void {
  const types = new Map<string, ManifestEntry["type"]>();
  for (const entry of entries) {
    const reason = unsafePathReason(entry.path);
    if (reason) unsafe(entry.path, reason, checkpoint);
    if (types.has(entry.path)) unsafe(entry.path, "listed twice", checkpoint);
    types.set(entry.path, entry.type);
  }
  for (const entry of entries) {
    const parent = parentOf(entry.path);
    if (parent === "") continue;
    const parentType = types.get(parent);
    if (parentType === "symlink") unsafe(entry.path, `under the symlink '${parent}'`, checkpoint);
    if (parentType !== "dir") unsafe(entry.path, `parent '${parent}' is not a directory of the checkpoint`, checkpoint);
  }
}

/** Scan results from a source we do not fully trust (a sandbox): the same rules as a manifest. */
export function assertScanSafe(entries: readonly ScanEntry[]): void {
  assertRestorable(entries);
}

/** Orders entries so that every dir comes before what it holds (plain code-unit order does that). */
export function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
