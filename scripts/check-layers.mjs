// The import-direction check: every relative import between the project's layers must point down
// (docs/DEVELOPING.md "Layers"). Prints each import that points up or sideways and exits 1 if any;
// tests/layout/layers.test.ts runs it, so the layering stays true. Reads import statements as text
// (static `import … from`, `export … from`, dynamic `import()`), type-only imports included: a
// type that lives in the wrong layer is a coupling too.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Higher imports lower; the same rank may not import each other (siblings stay apart). */
export const RANKS = {
  app: 9,
  "next.config.ts": 9,
  inngest: 8,
  convex: 8,
  "src/client": 8,
  "src/server": 7,
  "src/cli": 7,
  "src/runtime": 6,
  "src/workflows": 5,
  "src/engine": 4,
  "src/checkpoint": 3,
  "src/sandbox": 3,
  "src/store": 3,
  "src/objectstore": 2,
  // One way to read and write a folder on this disk that may change under us: sandbox and CLI alike.
  "src/localfs": 2,
  // Generated function references (api.sessions.get…): the Convex store adapter calls through them.
  "convex/_generated": 1,
  "src/core": 1,
};

function layerOf(rel) {
  if (rel.startsWith("convex/_generated/")) return "convex/_generated";
  const parts = rel.split("/");
  if (parts[0] === "src") return `src/${parts[1]}`;
  return parts[0];
}

/**
 * Inside a layer, its folders' own order (src/checkpoint/README.md): the repository format at the
 * bottom, the local-disk adapters on it, the engine on both; the layer's top-level files are its
 * vocabulary (types, channel: imported by all) and its public barrel (index.ts: imports all).
 */
export const INNER_RANKS = {
  "src/checkpoint": { "types.ts": 0, "channel.ts": 0, repo: 1, local: 2, engine: 3, "index.ts": 4 },
};

function innerRank(layer, rel) {
  const ranks = INNER_RANKS[layer];
  if (!ranks) return undefined;
  const first = rel.slice(layer.length + 1).split("/")[0];
  return ranks[first] ?? ranks[first.replace(/$/, ".ts")];
}

/** Whether `file` may import `target` (both relative to the project's root). */
export function allowed(file, target) {
  const from = layerOf(file);
  const to = layerOf(target);
  if (from === to) {
    const a = innerRank(from, file);
    const b = innerRank(to, target);
    // Unlisted inner folders, and files of the same inner folder, may import each other.
    return a === undefined || b === undefined || a === b || b < a;
  }
  const a = RANKS[from];
  const b = RANKS[to];
  return a !== undefined && b !== undefined && b < a;
}

function sources(dir, out = []) {
  const abs = path.join(ROOT, dir);
  if (statSync(abs).isFile()) return [...out, dir];
  for (const name of readdirSync(abs)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const rel = `${dir}/${name}`;
    if (statSync(path.join(ROOT, rel)).isDirectory()) sources(rel, out);
    else if (/\.(ts|tsx|mjs|js)$/.test(name) && !name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

const IMPORT = /(?:^|[^\w.])(?:import|export)\s[^;'"]*?from\s*["']([^"']+)["']|(?:^|[^\w.])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|[^\w.])import\s+["']([^"']+)["']/gm;

/** Every import that breaks the layering: { file, target, from, to }. */
export function violations() {
  const found = [];
  for (const file of ["src", "app", "inngest", "convex", "next.config.ts"].flatMap((d) => sources(d))) {
    if (file.startsWith("convex/_generated/")) continue;
    const text = readFileSync(path.join(ROOT, file), "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith(".")) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (!allowed(file, target)) found.push({ file, target, from: layerOf(file), to: layerOf(target) });
    }
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bad = violations();
  for (const v of bad) console.log(`${v.file}: imports ${v.target} (${v.from} must not import ${v.to})`);
  console.log(bad.length === 0 ? "layers: every import points down" : `layers: ${bad.length} import(s) point up or sideways`);
  process.exit(bad.length === 0 ? 0 : 1);
}
