// Builds packages/client (npm name torpor-client): the typed API client and the presence hook as
// a browser-safe ES module with its own declarations, for host apps to install without the server.
//   dist/index.js    esbuild bundle of src/client (platform browser); imports only @trpc/client, react
//   dist/router.d.ts the API router's type written out structurally (packages/client/build/router-type.mjs)
//   dist/*.d.ts      src/client's declarations, emitted against router.d.ts instead of src/server
// The sources stay in src/client; nothing here is hand-kept in step with them. Fails loudly when a
// client source starts to import something a browser or a host app's type-check cannot have.
import { build } from "esbuild";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { routerDeclaration } from "../packages/client/build/router-type.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLIENT_SRC = path.join(ROOT, "src/client");
const ROUTERS = path.join(ROOT, "src/server/routers/index.ts");
const OUT = path.join(ROOT, "packages/client", process.env.CLIENT_OUTDIR || "dist");
/** What the bundle may import at run time: the package's dependency and its optional peer. */
const RUNTIME_IMPORTS = new Set(["@trpc/client", "react"]);

function fail(message) {
  throw new Error(`build-client-package: ${message}`);
}

function report(diagnostics, what) {
  if (diagnostics.length === 0) return;
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => "\n" };
  fail(`${what}:\n${ts.formatDiagnostics(diagnostics, host)}`);
}

/** 1. The router's type, from a program over the server (the repository's own settings). */
function writeRouterType() {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
  });
  const program = ts.createProgram({ rootNames: [ROUTERS], options: { ...parsed.options, noEmit: true, incremental: false } });
  // No full type-check of the server here (slow; `tsc --noEmit` does it): only the router's types are read.
  const { text, counts } = routerDeclaration(program, ROUTERS);
  writeFileSync(path.join(OUT, "router.d.ts"), text);
  return counts;
}

/**
 * 2. src/client's declarations. The program sees router.d.ts where the sources import the server's
 * router, and no @types/node: what type-checks here is what a browser host app can type-check.
 */
function writeClientDeclarations() {
  const options = {
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    jsx: ts.JsxEmit.ReactJSX,
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    types: [],
    declaration: true,
    emitDeclarationOnly: true,
    outDir: OUT,
    rootDir: CLIENT_SRC,
  };
  const routerDts = path.join(OUT, "router.d.ts");
  const host = ts.createCompilerHost(options);
  host.resolveModuleNameLiterals = (literals, containingFile, redirected, opts) =>
    literals.map((literal) => {
      const fromClient = path.dirname(containingFile) === CLIENT_SRC;
      if (fromClient && path.resolve(CLIENT_SRC, literal.text) === path.dirname(ROUTERS)) {
        return { resolvedModule: { resolvedFileName: routerDts, extension: ts.Extension.Dts, isExternalLibraryImport: false } };
      }
      return ts.resolveModuleName(literal.text, containingFile, opts, host, undefined, redirected);
    });
  const sources = readdirSync(CLIENT_SRC).filter((f) => /\.tsx?$/.test(f) && !f.endsWith(".d.ts"));
  const program = ts.createProgram({ rootNames: sources.map((f) => path.join(CLIENT_SRC, f)), options, host });
  const outside = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.startsWith(CLIENT_SRC + path.sep));
  if (outside.length > 0) fail(`src/client imports project code outside itself: ${outside.map((f) => path.relative(ROOT, f.fileName)).join(", ")}`);
  report(ts.getPreEmitDiagnostics(program), "src/client does not type-check as a browser module without @types/node");

  const written = [];
  const result = program.emit(undefined, (fileName, text) => {
    writeFileSync(fileName, withExtensions(text, fileName, sources));
    written.push(path.basename(fileName));
  });
  report(result.diagnostics, "declaration emit failed");
  return written;
}

/**
 * Relative specifiers get their `.js` (moduleResolution nodenext refuses extensionless ones in an
 * ES module package), and the server's router becomes ./router.js. Anything else relative fails.
 */
function withExtensions(text, fileName, sources) {
  const local = new Set(sources.map((f) => `./${f.replace(/\.tsx?$/, "")}`));
  return text.replace(/(from\s+|import\()"(\.{1,2}\/[^"]*)"/g, (_, lead, spec) => {
    if (spec === "../server/routers") return `${lead}"./router.js"`;
    if (local.has(spec)) return `${lead}"${spec}.js"`;
    return fail(`${path.basename(fileName)} refers to ${spec}, which is not in the package`);
  });
}

/** 3. The run-time bundle, for the browser; every bare import must be a declared dependency. */
async function writeBundle() {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(CLIENT_SRC, "index.ts")],
    outfile: path.join(OUT, "index.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    external: [...RUNTIME_IMPORTS],
    metafile: true,
    logLevel: "silent",
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  const stray = imports.filter((i) => !RUNTIME_IMPORTS.has(i));
  if (stray.length > 0) fail(`the bundle imports ${stray.join(", ")}; only ${[...RUNTIME_IMPORTS].join(", ")} may be imported`);
  return imports;
}

export async function buildClientPackage() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const counts = writeRouterType();
  const declarations = writeClientDeclarations();
  const imports = await writeBundle();
  return { outdir: OUT, counts, declarations, imports: [...new Set(imports)] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const { outdir, counts } = await buildClientPackage();
  console.log(`built ${path.relative(ROOT, outdir)}/ (${counts.query} queries, ${counts.mutation} mutations) in ${Date.now() - started} ms`);
}
