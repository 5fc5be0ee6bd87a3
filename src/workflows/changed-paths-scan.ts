/**
 * A flush's stat scan of the changed paths only (issue 10 item 4: "an incremental checkpoint of
 * the changed paths"): the workspace as the parent manifest holds it, with every folder that holds
 * a listed path stat-scanned again. Terms:
 * - listed path: a path of a pending change row (written, deleted or renamed, to or from).
 * - scan root: the folder that holds a listed path. Its whole subtree is scanned again through
 *   the provider's own scan (never follows a symlink, leaves FIFOs and devices out), so a created,
 *   deleted or renamed entry is seen with everything under it, and a folder swapped for a symlink
 *   is seen as the symlink. Roots under another root are covered by it.
 * - merged scan: the parent's entries outside every root, plus what the roots' scans found.
 *
 * It trusts the change rows to name every path that changed, so only the flush uses it; hibernate
 * and archive keep their full stat scan as the safety net (src/workflows/checkpointing.ts). A
 * root's own entry keeps the parent's (its mode and type changed only if it is listed itself,
 * which makes its parent folder a root; its mtime moves with its entries and compareScan ignores
 * it). Null (take a full scan) when a listed path sits at the top of the workspace (its root would
 * be the whole workspace), when there are too many listed paths, or when a root's scan fails (a
 * symlink among its parents: the full scan records the symlink as it is).
 */
import type { ManifestEntry, ScanEntry } from "../core/workspace";
import { isTorporError } from "../core/errors";
import type { SandboxProvider } from "../sandbox/types";

/** More listed paths than this: a churn (an install, a build), which the full scan costs no more than. */
export const MAX_LISTED_PATHS = 1000;
/** More scan roots than this: one full scan is cheaper than so many provider calls. */
const MAX_ROOTS = 64;

function parentOf(p: string): string {
  const slash = p.lastIndexOf("/");
  return slash < 0 ? "" : p.slice(0, slash);
}

/** Whether `p` lies strictly under one of `roots` (checked through its ancestors, O(depth)). */
function underAny(p: string, roots: Set<string>): boolean {
  for (let dir = parentOf(p); dir !== ""; dir = parentOf(dir)) if (roots.has(dir)) return true;
  return false;
}

/** The folders to scan again for `paths`, none under another; null when one is the workspace itself. */
export function scanRoots(paths: Iterable<string>): string[] | null {
  const parents = new Set<string>();
  for (const p of paths) {
    const dir = parentOf(p);
    if (dir === "") return null;
    parents.add(dir);
  }
  const roots = [...parents].sort();
  const kept = new Set<string>();
  for (const root of roots) if (!underAny(root, kept)) kept.add(root);
  return [...kept];
}

export async function scanChangedPaths(
  sandboxes: SandboxProvider,
  sandboxId: string,
  parentEntries: ManifestEntry[],
  paths: string[],
): Promise<ScanEntry[] | null> {
  if (paths.length > MAX_LISTED_PATHS) return null;
  const roots = scanRoots(paths);
  if (roots === null || roots.length > MAX_ROOTS) return null;
  let scans: ScanEntry[][];
  try {
    // One after the other: the provider's scan is synchronous work on this thread anyway.
    scans = [];
    for (const root of roots) scans.push(await sandboxes.scan(sandboxId, root));
  } catch (error) {
    if (isTorporError(error, "UNSAFE_PATH")) return null;
    throw error;
  }
  const rootSet = new Set(roots);
  const merged: ScanEntry[] = [];
  for (const e of parentEntries) {
    if (underAny(e.path, rootSet)) continue;
    const { hash: _hash, ...stat } = e;
    merged.push(stat);
  }
  for (const scan of scans) for (const e of scan) merged.push(e);
  return merged;
}
