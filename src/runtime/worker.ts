/**
 * The worker entry point (dist/worker.mjs): the runtime with the embedded engine and its cron
 * schedules, without the web app. It continues runs a crash interrupted, then runs until SIGTERM
 * or SIGINT, when it stops taking new steps, lets the current ones finish and closes the stores.
 * Runs stopped that way stay "running" in the journal and continue at the next start.
 *
 * With Inngest as the workflow engine there is nothing for a worker to do: Inngest calls the app.
 */
import { getConfig } from "../core/config";
import { describeError } from "../core/errors";
import { createRuntime } from "./index";

async function main(): Promise<void> {
  const config = getConfig();
  if (config.workflowEngine.kind !== "embedded") {
    console.error("[torpor] worker: the workflow engine is Inngest; the app's /api/inngest runs the workflows. Exiting.");
    process.exitCode = 1;
    return;
  }
  const runtime = await createRuntime(config, { startCron: true });
  console.log(`TORPOR_WORKER_READY pid=${process.pid} objects=${runtime.objectStoreEndpoint}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[torpor] worker: ${signal}, stopping after the current steps`);
    runtime
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(`[torpor] worker: close failed: ${describeError(error)}`);
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  console.error(`[torpor] worker failed to start: ${describeError(error)}`);
  process.exit(1);
});
