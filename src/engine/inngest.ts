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
  });
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
