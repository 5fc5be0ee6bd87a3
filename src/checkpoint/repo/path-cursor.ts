/**
 * Looking up a manifest's entries by path while walking another sorted list: a snapshot asks for
 * the parent's entry of each scanned path, and a delta for the base's entry of each new one, both
 * in path order. When the entries are strictly sorted (every snapshot writes them so), a cursor
 * answers without the Map of every path, and without its tens of thousands of [path, entry] pairs
 * that a one-shot process only hands to the garbage collector. Anything else (a path listed twice,
 * entries out of order, a query out of order) is answered by a Map with the same results, so the
 * cursor is only ever a cheaper way to the answer a Map gives.
 */

interface HasPath {
  path: string;
}

function strictlySorted(entries: readonly HasPath[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.path < entries[i]!.path)) return false;
  return true;
}

/** Entries taken by path, each at most once; what was never taken stays, in the entries' order. */
export class PathCursor<E extends HasPath> {
  private readonly entries: readonly E[];
  /** Set once the cursor cannot answer: every entry not yet taken, by path (last one listed wins). */
  private map: Map<string, E> | undefined;
  private next = 0;
  /** Entries the cursor went past without a query naming them. */
  private passed: E[] = [];
  private lastQuery: string | undefined;

  constructor(entries: readonly E[]) {
    this.entries = entries;
    if (!strictlySorted(entries)) this.map = new Map(entries.map((e) => [e.path, e]));
  }

  /** The entry at `path`, removed: as `map.get(path)` followed by `map.delete(path)`. */
  take(path: string): E | undefined {
    if (this.map === undefined && this.lastQuery !== undefined && !(this.lastQuery < path)) this.toMap();
    if (this.map !== undefined) {
      const found = this.map.get(path);
      this.map.delete(path);
      return found;
    }
    this.lastQuery = path;
    const { entries } = this;
    for (; this.next < entries.length; this.next++) {
      const entry = entries[this.next]!;
      if (entry.path === path) {
        this.next++;
        return entry;
      }
      if (!(entry.path < path)) return undefined;
      this.passed.push(entry);
    }
    return undefined;
  }

  /** The entries never taken, in the order they were given (a Map's order of insertion). */
  rest(): E[] {
    if (this.map !== undefined) return [...this.map.values()];
    return this.passed.concat(this.entries.slice(this.next));
  }

  private toMap(): void {
    this.map = new Map(this.rest().map((e) => [e.path, e]));
    this.passed = [];
  }
}
