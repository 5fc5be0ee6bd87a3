/**
 * The route handlers' way to the runtime. Under the start command (dist/start.mjs) the runtime is
 * already published on globalThis. Under a plain `next start` or a serverless host (Vercel) nothing
 * is, so the first request builds one from the settings and later requests share it.
 */
import { getConfig } from "../../src/core/config";
import { publishAppHost, publishedAppHost, type AppHost } from "../../src/server/host";
import { resolveAuthSecret } from "../../src/server/secret";

export async function appHost(): Promise<AppHost> {
  const existing = publishedAppHost();
  if (existing !== undefined) return existing;
  const pending = (async () => {
    const config = getConfig();
    const { createRuntime } = await import("../../src/runtime");
    // On a serverless host Inngest's cron drives the sweep; the embedded engine needs its own.
    const runtime = await createRuntime(config, { startCron: config.workflowEngine.kind === "embedded" });
    return { deps: runtime, workflowDeps: runtime.deps, authSecret: resolveAuthSecret(config).secret };
  })();
  publishAppHost(pending);
  // A failed start must not be cached: the next request tries again and reports its own error.
  pending.catch(() => publishAppHost(undefined));
  return pending;
}
