/**
 * Comparing a workspace's stat scan with a checkpoint's manifest: does the workspace still hold
 * exactly what the checkpoint holds? Used before a sandbox is killed (invariant 1), where change
 * rows alone cannot be trusted: a sandbox's own processes write without telling anyone.
 *
 * An entry differs when it is new, gone, or has another type, mode, size, mtime or symlink
 * target. No content is read: a file rewritten with the same size keeps the same mtime only if
 * something set it back on purpose, and the snapshot's own racy-mtime rule covers the rest. The
 * same ignore patterns as the snapshot's apply, so ignored paths never count as a difference.
 */
import ignore from "ignore";
import type { ManifestEntry, ScanEntry } from "../types";

/** Same tolerance as the snapshot's reuse rule: mtimes that went through a float round trip. */
const MTIME_TOLERANCE_MS = 0.01;

export interface ScanDifference {
  path: string;
  why: "added" | "removed" | "type" | "mode" | "size" | "mtime" | "target";
}

export interface ScanComparison {
  same: boolean;
  /** How many entries differ in all. */
  count: number;
  /** The first few, for a message ("f161 added"). */
  first: ScanDifference[];
}

function differenceOf(now: ScanEntry, before: ManifestEntry): ScanDifference["why"] | null {
  if (now.type !== before.type) return "type";
  if (now.mode !== before.mode) return "mode";
  if (now.type === "symlink") return now.target === before.target ? null : "target";
  // A folder's size and mtime move with its entries, which are compared themselves.
  if (now.type === "dir") return null;
  if (now.size !== before.size) return "size";
  if (Math.abs(now.mtimeMs - before.mtimeMs) >= MTIME_TOLERANCE_MS) return "mtime";
  return null;
}

export function compareScan(scan: ScanEntry[], manifest: ManifestEntry[], ignorePatterns: string[] = [], keep = 5): ScanComparison {
  const ig = ignore().add(ignorePatterns);
  const ignored = (e: ScanEntry) => ignorePatterns.length > 0 && ig.ignores(e.type === "dir" ? `${e.path}/` : e.path);
  const before = new Map(manifest.map((e) => [e.path, e]));
  const first: ScanDifference[] = [];
  let count = 0;
  const note = (difference: ScanDifference) => {
    count++;
    if (first.length < keep) first.push(difference);
  };
  for (const entry of scan) {
    if (ignored(entry)) continue;
    const old = before.get(entry.path);
    before.delete(entry.path);
    if (!old) note({ path: entry.path, why: "added" });
    else {
      const why = differenceOf(entry, old);
      if (why) note({ path: entry.path, why });
    }
  }
  for (const old of before.values()) if (!ignored(old)) note({ path: old.path, why: "removed" });
  return { same: count === 0, count, first };
}

/** "3 entries differ from the checkpoint: 'f161' added, 'f162' added, …" */
export function describeComparison(comparison: ScanComparison): string {
  const list = comparison.first.map((d) => `'${d.path}' ${d.why}`).join(", ");
  const more = comparison.count > comparison.first.length ? ", …" : "";
  return `${comparison.count} entr${comparison.count === 1 ? "y differs" : "ies differ"} from the checkpoint: ${list}${more}`;
}
