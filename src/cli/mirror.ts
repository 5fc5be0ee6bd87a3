/**
 * `torpor restore --mirror`: after a restore over a non-empty folder (which writes every entry of
 * the checkpoint and leaves the rest), delete what the checkpoint does not hold, so the folder is
 * the checkpoint. As with rsync's --delete, paths the ignore rules exclude (TORPOR_IGNORE…) are
 * kept: a snapshot never took them, so their absence says nothing. Symlinks are removed as links,
 * never followed; a folder that is not in the checkpoint goes whole.
 */
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import ignore from "ignore";

export interface MirrorResult {
  deleted: string[];
}

export async function mirrorDelete(root: string, keep: Iterable<string>, ignoreRules: string[]): Promise<MirrorResult> {
  // A kept path keeps its parent folders, whether or not the manifest lists them.
  const kept = new Set<string>();
  for (const p of keep) for (let at = p; at !== "." && at !== "" && !kept.has(at); at = path.posix.dirname(at)) kept.add(at);
  const ig = ignore().add(ignoreRules);
  const deleted: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    for (const entry of entries) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const isDir = entry.isDirectory();
      if (ignoreRules.length > 0 && ig.ignores(isDir ? `${child}/` : child)) continue;
      if (!kept.has(child)) {
        await rm(path.join(root, child), { recursive: true, force: true });
        deleted.push(child);
      } else if (isDir) {
        await walk(child);
      }
    }
  };
  await walk("");
  return { deleted: deleted.sort() };
}
