/**
 * The client package as a host app gets it: packed with `npm pack` (its prepack builds it from
 * src/client), unpacked into a fresh app's node_modules beside @trpc/client, @trpc/server and react
 * (linked from this repository: no network), then bundled for the browser and type-checked under
 * moduleResolution bundler and nodenext with no @types/node anywhere the compiler can see.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
// Each tsc run below takes 5-25 s on a shared 2-core machine; the pack (a build) 20-50 s.
/** What the host app installs besides the package: the package's dependency and peers. */
const LINKED = ["@trpc/client", "@trpc/server", "react", "@types/react"];

let dir: string;
let host: string;
let packedFiles: string[];

const BROWSER_ENTRY = `
import { createTorporClient, usePresencePing, waitReady } from "torpor-client";
const client = createTorporClient({ url: location.origin, token: () => "t" });
export function Editor(props: { sessionId: string }) {
  usePresencePing(client, props.sessionId);
  return null;
}
export const ready = (id: string) => waitReady(client, id);
`;

/** Typed calls that must type-check; the @ts-expect-error lines fail the check if outputs were `any`. */
const GOOD = `
import { createTorporClient, errorCode, usePresencePing, type AppRouter, type TorporClient } from "torpor-client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

const client: TorporClient = createTorporClient({ url: "https://torpor.example.com", token: "t" });

export async function start(): Promise<string> {
  const session = await client.sessions.create.mutate({ idleTimeoutMs: 1 });
  const state: "running" | "paused" | string = session.state;
  // @ts-expect-error a session's id is a string, not a number
  const wrong: number = session.id;
  const files = await client.files.list.query({ sessionId: session.id });
  const sizes: number[] = files.map((f) => f.size);
  void wrong; void sizes;
  return state;
}

export function useEditor(sessionId: string) {
  usePresencePing(client, sessionId, { onPing: (r) => void r.waking });
}

export type CreateInput = inferRouterInputs<AppRouter>["sessions"]["create"];
export type SessionOut = inferRouterOutputs<AppRouter>["sessions"]["get"];
export const code: string | undefined = errorCode(new Error("x"));
`;

const BAD = `
import { createTorporClient } from "torpor-client";
const client = createTorporClient({ url: "https://torpor.example.com", token: "t" });
export const created = client.sessions.create.mutate({ idleTimeoutMs: "x" });
`;

/**
 * The packed router type against the server's own, procedure by procedure (inputs, outputs, error
 * shape), as a client sees them: a change the declaration writer gets wrong fails here by name.
 */
const SAME = `
import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter as Packed } from "torpor-client";
import type { AppRouter as Server } from "${ROOT}/src/server/routers";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Each<A, B> = {
  [K in keyof A | keyof B]: K extends keyof A & keyof B
    ? { [P in keyof A[K] | keyof B[K]]: P extends keyof A[K] & keyof B[K] ? Same<A[K][P], B[K][P]> : false }
    : false;
};
type AllTrue<T> = { [K in keyof T]: { [P in keyof T[K]]: true } };
type In = Each<inferRouterInputs<Packed>, inferRouterInputs<Server>>;
type Out = Each<inferRouterOutputs<Packed>, inferRouterOutputs<Server>>;
export const inputs: AllTrue<In> = null! as In;
export const outputs: AllTrue<Out> = null! as Out;
export const errors: true = null! as Same<inferRouterError<Packed>, inferRouterError<Server>>;
`;

function tsconfig(module: "esnext" | "nodenext", moduleResolution: "bundler" | "nodenext") {
  return {
    compilerOptions: {
      target: "ES2022",
      // ESNext.Disposable: @trpc/server 11's own declarations name Disposable (or use skipLibCheck).
      lib: ["ES2022", "DOM", "ESNext.Disposable"],
      module,
      moduleResolution,
      strict: true,
      noEmit: true,
      // The package's declarations are checked too, not only used.
      skipLibCheck: false,
      listFiles: true,
    },
    files: ["src/good.ts", "src/bad.ts"],
  };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "torpor-client-pkg-"));
  const pack = path.join(dir, "pack");
  mkdirSync(pack);
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", pack], {
    cwd: path.join(ROOT, "packages/client"),
    encoding: "utf8",
    env: { ...process.env, npm_config_offline: "true", npm_config_update_notifier: "false" },
  });
  const [info] = JSON.parse(out.slice(out.indexOf("["))) as [{ filename: string; files: { path: string }[] }];
  packedFiles = info.files.map((f) => f.path).sort();

  host = path.join(dir, "host");
  const installed = path.join(host, "node_modules/torpor-client");
  mkdirSync(installed, { recursive: true });
  mkdirSync(path.join(host, "src"));
  // What `npm install <tarball>` lays down, without a registry: the tarball's package/ folder.
  execFileSync("tar", ["-xzf", path.join(pack, info.filename), "-C", installed, "--strip-components=1"]);
  for (const name of LINKED) {
    mkdirSync(path.dirname(path.join(host, "node_modules", name)), { recursive: true });
    symlinkSync(path.join(ROOT, "node_modules", name), path.join(host, "node_modules", name), "dir");
  }
  writeFileSync(
    path.join(host, "package.json"),
    JSON.stringify({ name: "host-app", private: true, type: "module", dependencies: { "torpor-client": `file:../pack/${info.filename}` } }),
  );
  writeFileSync(path.join(host, "src/browser.ts"), BROWSER_ENTRY);
  writeFileSync(path.join(host, "src/good.ts"), GOOD);
  writeFileSync(path.join(host, "src/bad.ts"), BAD);
  writeFileSync(path.join(host, "src/same.ts"), SAME);
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the torpor-client package", () => {
  it("ships only its build and declares @trpc/client as its one dependency", () => {
    expect(packedFiles).toEqual(expect.arrayContaining(["package.json", "dist/index.js", "dist/index.d.ts", "dist/router.d.ts"]));
    expect(packedFiles.filter((f) => f !== "package.json" && f !== "README.md" && !/^dist\/[\w-]+\.(js|d\.ts)$/.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(host, "node_modules/torpor-client/package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies)).toEqual(["@trpc/client"]);
    expect(pkg.peerDependenciesMeta.react.optional).toBe(true);
    const declarations = packedFiles.filter((f) => f.endsWith(".d.ts"));
    for (const file of declarations) {
      const text = readFileSync(path.join(host, "node_modules/torpor-client", file), "utf8");
      // Only the package's own files and tRPC's types: nothing of the server, nothing of Node.
      const specifiers = [...text.matchAll(/(?:from\s+|import\()"([^"]+)"/g)].map((m) => m[1]);
      for (const spec of specifiers) expect(spec, `${file} imports ${spec}`).toMatch(/^(\.\/[\w-]+\.js|@trpc\/(client|server))$/);
    }
  });

  it("bundles for the browser with no Node built-in", async () => {
    const result = await build({
      absWorkingDir: host,
      entryPoints: ["src/browser.ts"],
      bundle: true,
      format: "esm",
      platform: "browser",
      write: false,
      logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const [output] = result.outputFiles;
    expect(output!.text).toContain("createTRPCClient");
    expect(output!.text).not.toMatch(/["']node:/);
  });

  it.each([
    ["bundler", "esnext"],
    ["nodenext", "nodenext"],
  ] as const)("type-checks a host app under moduleResolution %s: typed inputs and outputs", (resolution, module) => {
    const config = `tsconfig.${resolution}.json`;
    writeFileSync(path.join(host, config), JSON.stringify(tsconfig(module, resolution)));
    const run = spawnSync(process.execPath, [TSC, "-p", config], { cwd: host, encoding: "utf8" });
    const lines = run.stdout.split("\n");
    const errors = lines.filter((l) => /error TS\d+/.test(l));
    // The one error is the wrong input type; good.ts (with its @ts-expect-error on an output) is clean.
    expect(errors, errors.join("\n")).toHaveLength(1);
    expect(errors[0]).toMatch(/^src\/bad\.ts\(4,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    const files = lines.filter((l) => l.startsWith("/"));
    expect(files.some((f) => f.includes("torpor-client/dist/router.d.ts"))).toBe(true);
    expect(files.filter((f) => f.includes("@types/node"))).toEqual([]);
    expect(files.filter((f) => f.includes(`${ROOT}/src/`))).toEqual([]);
  }, 180_000);

  it("declares the same inputs, outputs and errors as the server's router", () => {
    // The repository's own settings (with @types/node) for the server side of the comparison.
    const config = {
      extends: path.join(ROOT, "tsconfig.json"),
      compilerOptions: { noEmit: true, incremental: false, typeRoots: [path.join(ROOT, "node_modules/@types")] },
      files: ["src/same.ts"],
      include: [],
    };
    writeFileSync(path.join(host, "tsconfig.same.json"), JSON.stringify(config));
    const run = spawnSync(process.execPath, [TSC, "-p", "tsconfig.same.json", "--noErrorTruncation"], { cwd: host, encoding: "utf8" });
    expect(run.stdout).toBe("");
    expect(run.status).toBe(0);
  }, 180_000);
});
