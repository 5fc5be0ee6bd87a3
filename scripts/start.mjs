// The README's start command (`npm start`). Builds what is missing or older than its sources
// (dist/start.mjs with esbuild, .next with `next build`), then runs dist/start.mjs in a child
// process started with --openssl-legacy-provider: the embedded S3 server (s3rver) encrypts listing
// continuation tokens with DES, which OpenSSL 3 only offers through that provider, and the flag only
// works at process start. Ctrl-C reaches the child through the terminal's process group; this
// process waits for it to finish stopping and exits with its code.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { exitLikeChild } from "./child-exit.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
process.chdir(root);

/** Newest modification time among files under these paths (ignoring dependencies and outputs). */
function newest(paths) {
  let latest = 0;
  const walk = (p) => {
    if (!existsSync(p)) return;
    const stat = statSync(p);
    if (stat.isDirectory()) {
      for (const name of readdirSync(p)) if (name !== "node_modules" && !name.startsWith(".")) walk(path.join(p, name));
    } else latest = Math.max(latest, stat.mtimeMs);
  };
  paths.forEach(walk);
  return latest;
}

function mtime(file) {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) exitLikeChild(result.status, result.signal, `the build (${args.join(" ")})`);
}

/**
 * Local sandboxes are isolated with bubblewrap unless TORPOR_BWRAP=off says otherwise: say so
 * before building anything, rather than when the first session is created. (The provider probes
 * again at start-up with the exact namespaces it uses; this is the quick, readable check.)
 */
function checkBubblewrap() {
  const env = process.env;
  const local = (env.TORPOR_SANDBOX_PROVIDER ?? (env.E2B_API_KEY ? "e2b" : "local")) === "local";
  if (!local || env.TORPOR_BWRAP === "off") return;
  const bwrap = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"].find((p) => existsSync(p));
  const probe = bwrap && spawnSync(bwrap, ["--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--", "/bin/true"], { encoding: "utf8" });
  if (probe && probe.status === 0) return;
  const why = bwrap ? `bubblewrap at ${bwrap} cannot create namespaces here: ${(probe.stderr || probe.error?.message || "").trim()}` : "bubblewrap (bwrap) is not installed";
  console.error(
    `Torpor: ${why}.\nLocal sandboxes run tenants' commands and must be isolated: install bubblewrap (apt-get install bubblewrap)\n` +
      "or set TORPOR_BWRAP=off to run them NOT isolated (they can then read and change this machine's files).",
  );
  process.exit(1);
}
checkBubblewrap();

const sources = newest(["src", "package.json"]);
if (mtime("dist/start.mjs") < sources) run(process.execPath, ["scripts/build-node.mjs"]);
const appSources = newest(["app", "src", "inngest", "next.config.ts", "package.json", "tsconfig.json"]);
if (mtime(".next/BUILD_ID") < appSources) {
  console.log("Building the Next.js app (first start or sources changed)…");
  run(process.execPath, ["node_modules/next/dist/bin/next", "build"]);
}

const child = spawn(process.execPath, ["--openssl-legacy-provider", "--enable-source-maps", "dist/start.mjs"], {
  stdio: "inherit",
  env: {
    ...process.env,
    NODE_ENV: process.env.NODE_ENV ?? "production",
    NEXT_TELEMETRY_DISABLED: "1",
    // The pinned AWS SDK supports Node 20; its notice about future versions needing Node 22 is
    // not actionable for users of this release.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? "true",
  },
});
// The child gets the terminal's Ctrl-C itself; a signal sent to this process alone is passed on.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal === "SIGHUP" ? "SIGTERM" : signal);
  });
}
// A signal this process passed on (Ctrl-C, a stop) ends the child cleanly with code 0; any other
// signal that killed it is reported and gives a non-zero status.
child.on("exit", (code, signal) => exitLikeChild(code, signal));
