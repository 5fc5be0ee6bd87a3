/**
 * PathCursor (repo/path-cursor.ts) answers exactly as the Map it replaces: take = get + delete,
 * rest = the Map's remaining values in insertion order, whether the entries are strictly sorted
 * (the cursor) or not (a path twice, out of order: the Map), and when queries go out of order.
 */
import { describe, expect, it } from "vitest";
import { PathCursor } from "../../src/checkpoint/repo/path-cursor";

type Entry = { path: string; n: number };
const entries = (...paths: string[]): Entry[] => paths.map((path, n) => ({ path, n }));

function viaMap(list: Entry[], queries: string[]): { taken: (Entry | undefined)[]; rest: Entry[] } {
  const map = new Map(list.map((e) => [e.path, e]));
  const taken = queries.map((q) => {
    const found = map.get(q);
    map.delete(q);
    return found;
  });
  return { taken, rest: [...map.values()] };
}

function viaCursor(list: Entry[], queries: string[]): { taken: (Entry | undefined)[]; rest: Entry[] } {
  const cursor = new PathCursor(list);
  const taken = queries.map((q) => cursor.take(q));
  return { taken, rest: cursor.rest() };
}

describe("PathCursor", () => {
  const cases: [string, Entry[], string[]][] = [
    ["sorted entries, ascending queries", entries("a", "a/b", "a/c", "b", "c"), ["a", "a/c", "b0", "c", "d"]],
    ["no queries", entries("a", "b"), []],
    ["no entries", [], ["a", "b"]],
    ["a path listed twice", entries("a", "b", "b", "c"), ["b", "c"]],
    ["entries out of order", entries("c", "a", "b"), ["a", "c"]],
    ["a query out of order", entries("a", "b", "c", "d"), ["c", "a", "d"]],
    ["a query repeated", entries("a", "b", "c"), ["b", "b", "c"]],
    ["a query before every entry", entries("b", "c"), ["a", "c"]],
    ["code-unit order (upper case first)", entries("B", "a", "b"), ["B", "b"]],
  ];
  for (const [name, list, queries] of cases) {
    it(`${name}: the same as a Map`, () => {
      expect(viaCursor(list, queries)).toEqual(viaMap(list, queries));
    });
  }

  it("takes the very objects given", () => {
    const list = entries("a", "b");
    expect(new PathCursor(list).take("b")).toBe(list[1]);
  });
});
