/**
 * The WorkflowDispatcher for production: events go to Inngest with `inngest.send()`. The event's
 * `id` is the request id, which Inngest uses to drop a duplicate event (within 24 hours); the
 * functions' idempotency key is the request id too, so a retried request starts one run.
 */
import type { Inngest } from "inngest";
import { TorporError } from "../src/core/errors";
import { parseEvent } from "../src/workflows/events";
import type { WorkflowDispatcher } from "../src/workflows/types";

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
