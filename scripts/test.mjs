// The README's test command: build what the tests run as processes, then run every test layer.
// s3rver encrypts listing continuation tokens with DES, which OpenSSL 3 only offers through its
// legacy provider; the embedded S3 server runs in-process in tests, so the flag is set here.
import { spawnSync } from "node:child_process";

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run("node", ["scripts/build-node.mjs"]);
run("npx", ["vitest", "run", ...process.argv.slice(2)], {
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --openssl-legacy-provider`.trim(),
});
