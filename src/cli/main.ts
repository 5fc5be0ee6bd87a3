/**
 * The torpor CLI's entry point (bundled to dist/cli.mjs, started by bin/torpor). It reads the
 * settings, opens the object store (starting the embedded S3 server for the duration of the
 * command in embedded mode), runs the command and exits: 0 on success, 1 on failure, 2 on a
 * usage error. Failures print one line on stderr; with --json the last stdout line is a JSON
 * object (the result, or `{"error": {code, message}}`).
 */
import { loadConfig, processEnv, type Config } from "../core/config";
import { describeError, isTorporError } from "../core/errors";
import { openObjectStore, serveEmbeddedS3 } from "../objectstore/open";
import { parseCommand, USAGE, UsageError } from "./args";
import { runEngineCommand } from "./commands";
import { findDataDir, packageRoot, requireDataDir } from "./data-dir";
import { rotateLines, rotateOperatorToken } from "./token";

// The AWS SDK warns about future Node versions on every start: noise for a CLI.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "ExperimentalWarning" || /NodeVersionSupportWarning|AWS SDK for JavaScript/.test(`${warning.name} ${warning.message}`)) return;
  process.stderr.write(`warning: ${warning.message.split("\n")[0]}\n`);
});

function finish(code: number): Promise<never> {
  // Keep-alive sockets of the S3 client would hold the process open: exit once output is flushed.
  return new Promise(() => process.stdout.write("", () => process.exit(code)));
}

/**
 * The settings, with the data dir found as the app finds it (src/cli/data-dir). `create`: the
 * command may start a new store (snapshot) in ./.torpor-data; the others need an existing one.
 */
function cliConfig(create: boolean): Config {
  const env = processEnv();
  const choice = findDataDir(env, process.cwd(), packageRoot(import.meta.url));
  const config = loadConfig({ ...env, TORPOR_DATA_DIR: choice.dir ?? choice.looked[0] });
  if (config.objectStore.kind === "embedded" && !create) requireDataDir(choice);
  return config;
}

async function serveS3(): Promise<void> {
  const config = cliConfig(false);
  const opened = await serveEmbeddedS3(config.objectStore);
  process.stdout.write(`embedded S3 server on ${opened.endpoint} (bucket ${config.objectStore.bucket}, data ${config.objectStore.embeddedDir}); credentials S3RVER/S3RVER\n`);
  // s3rver checks no signature: while it runs, the store is open to anyone who reaches the port.
  process.stderr.write("warning: s3-server accepts any request on its port; every local user can read and change the store while it runs\n");
  const stop = () => void opened.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function main(argv: string[]): Promise<void> {
  const json = argv.includes("--json");
  try {
    const command = parseCommand(argv);
    if (command.name === "help") {
      process.stdout.write(`${USAGE}\n`);
      return finish(0);
    }
    if (command.name === "s3-server") return serveS3();
    if (command.name === "token-rotate") {
      const rotated = await rotateOperatorToken(requireDataDir(findDataDir(processEnv(), process.cwd(), packageRoot(import.meta.url))));
      process.stdout.write(json ? `${JSON.stringify(rotated)}\n` : `${rotateLines(rotated).join("\n")}\n`);
      return finish(0);
    }
    const config = cliConfig(command.name === "snapshot");
    const opened = await openObjectStore(config.objectStore);
    try {
      await opened.objects.check();
      const out = await runEngineCommand(command, config, opened.objects);
      for (const warning of out.warnings) process.stderr.write(`${warning}\n`);
      process.stdout.write(json ? `${JSON.stringify(out.json)}\n` : `${out.lines.join("\n")}\n`);
      return finish(out.exitCode);
    } finally {
      await opened.close();
    }
  } catch (error) {
    const message = describeError(error).split("\n")[0];
    process.stderr.write(`torpor: ${message}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    if (json) {
      const code = isTorporError(error) ? error.code : "INTERNAL";
      process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    }
    return finish(error instanceof UsageError ? 2 : 1);
  }
}

await main(process.argv.slice(2));
