/**
 * The workflow engine's production adapter, beside the embedded one: the Inngest client built from
 * Config, and the WorkflowDispatcher that sends events with `inngest.send()`. The functions that
 * Inngest calls back are registered in inngest/ (createFunction wrappers of src/workflows).
 *
 * Settings come from Config, never from the SDK's own environment lookup, so that the one settings
 * schema decides. When Inngest is not the configured engine, nothing is sent to it.
 *
 * The event's `id` is the request id, which Inngest uses to drop a duplicate event (within 24
 * hours); the functions' idempotency key is the request id too, so a retried request starts one run.
 *
 * Serverless limits: a request to /api/inngest lives at most `maxDurationMs` (the route's
 * maxDuration). With checkpointing the SDK runs one step after another in the same request and
 * stops starting new ones after `checkpointing.maxRuntime`, handing the rest to Inngest (async):
 * half the request's limit, so a step begun just before that still has the other half to finish.
 * A single step longer than maxDuration is killed and retried from its start whatever is set here.
 */
import { Inngest } from "inngest";
import type { Config } from "../core/config";
import { TorporError } from "../core/errors";
import { parseEvent } from "../core/events";
import type { WorkflowDispatcher } from "./types";

export function inngestConfigured(config: Config): boolean {
  return config.workflowEngine.kind === "inngest";
}

export function createInngestClient(config: Config): Inngest {
  const engine = config.workflowEngine;
  if (engine.kind !== "inngest") {
    // Still a valid client (functions must exist to be listed), but it has no key: sending throws.
    return new Inngest({ id: "torpor", isDev: false });
  }
  return new Inngest({
    id: engine.appId,
    eventKey: engine.eventKey,
    signingKey: engine.signingKey,
    isDev: engine.dev,
    baseUrl: engine.baseUrl,
    checkpointing: { maxRuntime: checkpointMaxRuntimeMs(engine.maxDurationMs) },
  });
}

export function checkpointMaxRuntimeMs(maxDurationMs: number): number {
  return Math.floor(maxDurationMs / 2);
}

/**
 * serve()'s registration options: where Inngest calls the app back, from TORPOR_PUBLIC_URL (an
 * app behind a proxy or on a serverless host cannot infer it from the request). Empty: inferred.
 */
export function inngestServeOptions(config: Config): { serveOrigin?: string; servePath?: string } {
  const engine = config.workflowEngine;
  if (engine.kind !== "inngest" || !engine.serveOrigin) return {};
  const url = new URL(engine.serveOrigin);
  const base = url.pathname.replace(/\/+$/, "");
  return base ? { serveOrigin: url.origin, servePath: `${base}/api/inngest` } : { serveOrigin: url.origin };
}

export function createInngestDispatcher(client: Inngest): WorkflowDispatcher {
  return {
    kind: "inngest",
    async send(event) {
      const parsed = parseEvent(event);
      try {
        const result = await client.send({ name: parsed.name, data: parsed.data, id: parsed.data.requestId });
        return { ids: [...result.ids] };
      } catch (error) {
        throw new TorporError("PROVIDER", `Could not send '${parsed.name}' to Inngest`, {
          cause: error,
          retriable: true,
          details: { event: parsed.name, requestId: parsed.data.requestId },
        });
      }
    },
  };
}
