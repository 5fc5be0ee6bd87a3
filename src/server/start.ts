/**
 * The start command (dist/start.mjs, run by `npm start` through scripts/start.mjs): builds the
 * runtime from the settings (embedded default: SQLite, embedded S3, local sandboxes, in-process
 * engine with its cron — all under TORPOR_DATA_DIR), publishes it for Next's route handlers on a
 * globalThis key, and serves the built Next.js app from this same process with node:http. One
 * process means Ctrl-C stops everything: no next-server child can be orphaned.
 */
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { getConfig } from "../core/config";
import { describeError } from "../core/errors";
import { publishAppHost } from "./host";
import { ensureOperatorToken } from "./operator-token";
import { resolveAuthSecret } from "./secret";
import { createRuntime } from "../runtime";

// dist/start.mjs sits one level below the project root, where .next/ and app/ are.
const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OPERATOR_TOKEN_CHECK_MS = 2000;

async function main(): Promise<void> {
  const config = getConfig();
  const auth = resolveAuthSecret(config);
  const runtime = await createRuntime(config, { startCron: true });
  publishAppHost({ deps: runtime, workflowDeps: runtime.deps, authSecret: auth.secret });

  const app = next({ dev: false, dir: projectDir, hostname: config.http.host, port: config.http.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error(`request ${req.url}: ${describeError(error)}`);
      if (!res.headersSent) res.writeHead(500).end("Internal error");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.http.port, config.http.host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.http.port;
  const host = config.http.host === "0.0.0.0" || config.http.host === "::" ? "localhost" : config.http.host;
  const base = (config.http.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, "");

  const operator = await ensureOperatorToken(config, auth.secret);
  const adapters = [
    `store ${config.stateStore.kind}`,
    `engine ${config.workflowEngine.kind}`,
    `objects ${config.objectStore.kind}`,
    `sandboxes ${config.sandbox.kind}`,
  ].join(", ");
  console.log(`Torpor is running at ${base} (${adapters}; data in ${config.dataDir})`);
  if (auth.generated) console.log(`Generated an auth secret in ${auth.file}`);
  // The token is never printed (scrollback and log collectors keep it): only where it is.
  const expires = new Date(operator.expiresAt * 1000).toISOString().slice(0, 10);
  console.log(`Operator token (until ${expires}) in ${operator.file}: open ${base}/?token=$(cat ${operator.file})`);
  console.log(`TORPOR_READY ${JSON.stringify({ url: base, port, tokenFile: operator.file })}`);
  // Revocation is deleting or replacing the file (torpor token rotate): write the next one soon after.
  const renew = setInterval(() => {
    ensureOperatorToken(config, auth.secret).then(
      (next) => next.generated && console.log(`Operator token replaced (the previous one is revoked): ${next.file}`),
      (error: unknown) => console.error(`operator token: ${describeError(error)}`),
    );
  }, OPERATOR_TOKEN_CHECK_MS);
  renew.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping…`);
    // A workflow step stuck on a dead endpoint must not keep the process up forever; the engine
    // continues interrupted runs at the next start. (Repeated signals are ignored on purpose: a
    // terminal's Ctrl-C reaches this process twice, directly and through scripts/start.mjs.)
    setTimeout(() => {
      console.error("still stopping after 15 s: exiting now");
      process.exit(1);
    }, 15_000).unref();
    clearInterval(renew);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close().catch((e: unknown) => console.error(`next: ${describeError(e)}`));
    await runtime.close().catch((e: unknown) => console.error(`runtime: ${describeError(e)}`));
    console.log("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(`torpor start failed: ${describeError(error)}`);
  process.exit(1);
});
