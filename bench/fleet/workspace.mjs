/**
 * The fleet benchmark's workspace: a generated shared node_modules (the same on every run) and a
 * few files of each session's own, rewritten in one folder per snapshot.
 */
import { mkdirSync } from "node:fs";
import { readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** A seeded generator, so every run writes the same shared tree. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const WORDS = ["function", "return", "const", "export", "module", "require", "value", "object", "length", "prototype", "undefined", "this", "=>", "{", "}", "(", ")", ";"];
function jsText(next, bytes) {
  let out = "";
  while (out.length < bytes) out += WORDS[Math.floor(next() * WORDS.length)] + (next() < 0.1 ? "\n" : " ") + (next() < 0.2 ? Math.floor(next() * 1e6).toString(36) : "");
  return out;
}

export async function writeShared(dir, SHARED_FILES) {
  const next = random(7);
  for (let i = 0; i < SHARED_FILES; i++) {
    const file = path.join(dir, "node_modules", `pkg${i % 40}`, `lib${Math.floor(i / 40)}`, `f${i}.js`);
    mkdirSync(path.dirname(file), { recursive: true });
    await writeFile(file, jsText(next, 500 + Math.floor(next() * 8000)));
  }
  mkdirSync(path.join(dir, "src"), { recursive: true });
}
/** Session `n`'s own files (version `v`), replacing the previous session's. */
export async function writeOwn(dir, n, OWN_FILES, v = 0) {
  const src = path.join(dir, "src");
  for (const f of await readdir(src)) await rm(path.join(src, f));
  const next = random(1000 + n * 31 + v);
  const paths = [];
  for (let k = 0; k < OWN_FILES; k++) {
    await writeFile(path.join(src, `s${n}-${k}.ts`), `// session ${n} v${v}\n${jsText(next, 2000)}`);
    paths.push(`src/s${n}-${k}.ts`);
  }
  return paths;
}
