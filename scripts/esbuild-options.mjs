// esbuild settings for the Node entry points, shared by scripts/build-node.mjs and bin/torpor's
// rebuild of a stale CLI. Service entry points (start, worker, client) leave every package
// external. The CLI is a short-lived process whose start-up counts in every snapshot and restore,
// so it also bundles the pure-JavaScript packages it loads on every command: Node then compiles one
// file instead of resolving, reading and linking some 130 modules (100 of them zod's) and 60
// package.json files of the AWS SDK, zod and ignore (`torpor ls` 227 -> 162 ms median on the
// 2-core machine). Packages with native code or files they find at run time stay external.
import { existsSync } from "node:fs";
import path from "node:path";

/** Packages the CLI's own sources import that go into dist/cli.mjs, with their dependencies. */
const CLI_BUNDLED = new Set(["@aws-sdk/client-s3", "zod", "ignore"]);

/** Never bundled, even as a dependency of a bundled package: native addons, servers with assets. */
const NEVER_BUNDLED = new Set(["s3rver", "better-sqlite3", "zstd-napi"]);

const packageName = (specifier) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

/** Bundles CLI_BUNDLED and everything they import (minus NEVER_BUNDLED); all else stays external. */
const selectedPackages = {
  name: "selected-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { external: true };
      const name = packageName(args.path);
      if (NEVER_BUNDLED.has(name)) return { external: true };
      if (args.importer.split(path.sep).includes("node_modules")) return undefined;
      return CLI_BUNDLED.has(name) ? undefined : { external: true };
    });
  },
};

const common = {
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: "linked",
  // Bundled CommonJS modules and createRequire callers need a `require` in an ES module.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};

/** Options for the entry points other than the CLI: [source, output name] pairs under root. */
export function serviceBuildOptions(root, entries, outdir, logLevel = "warning") {
  const present = entries.filter(([source]) => existsSync(path.join(root, source)));
  return {
    ...common,
    entryPoints: Object.fromEntries(present.map(([source, name]) => [name, path.join(root, source)])),
    outdir,
    packages: "external",
    logLevel,
  };
}

/** Options for dist/cli.mjs (src/cli/main.ts) with the CLI's packages bundled. */
export function cliBuildOptions(root, outdir, logLevel = "warning") {
  return {
    ...common,
    entryPoints: { cli: path.join(root, "src", "cli", "main.ts") },
    outdir,
    // The AWS SDK's ES module builds (package.json "module") are smaller than its CommonJS ones and
    // need no CommonJS wrappers: 1.9 instead of 2.3 MB, about 25 ms less start-up.
    mainFields: ["module", "main"],
    plugins: [selectedPackages],
    logLevel,
  };
}
