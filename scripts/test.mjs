// The README's test command: check the system packages the tests use, build what the tests run
// as processes (CLI, start command, Next.js app), then run every test layer with vitest.
// s3rver encrypts listing continuation tokens with DES, which OpenSSL 3 only offers through its
// legacy provider; the embedded S3 server runs in-process in tests, so the flag is set here.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";

/** Debian packages the tests need: real sandboxes (bwrap) and real browser tests (chromium). */
const SYSTEM_PACKAGES = [
  { bin: "/usr/bin/bwrap", pkg: "bubblewrap" },
  { bin: "/usr/bin/chromium", pkg: "chromium" },
];

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const missing = SYSTEM_PACKAGES.filter(({ bin }) => !existsSync(bin)).map(({ pkg }) => pkg);
if (missing.length > 0) {
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync("/usr/bin/apt-get")) {
    console.log(`Installing test prerequisites: ${missing.join(" ")}`);
    run("apt-get", ["update", "-qq"]);
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { DEBIAN_FRONTEND: "noninteractive" });
  } else {
    console.error(`The tests need these Debian packages: ${missing.join(" ")}. Install them (sudo apt-get install ${missing.join(" ")}) and run again.`);
    process.exit(1);
  }
}

run("node", ["scripts/build-node.mjs"]);
if (existsSync("app")) run("npx", ["next", "build"], { NEXT_TELEMETRY_DISABLED: "1" });

// vitest's own summary plus a JSON report, from which the last line is the plain
// "N passed, N failed, N skipped" that CI reads.
const report = "test-output/vitest-results.json";
rmSync(report, { force: true });
const vitest = spawnSync(
  "npx",
  ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...process.argv.slice(2)],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --openssl-legacy-provider`.trim(),
      NEXT_TELEMETRY_DISABLED: "1",
      // The pinned AWS SDK supports Node 20; its notice about future versions is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  },
);
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
}
process.exit(vitest.status ?? 1);
