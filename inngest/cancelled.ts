/**
 * Inngest function: settle a run cancelled from Inngest's dashboard or API. A cancelled run stops
 * between steps and runs neither its catch nor onFailure; Inngest then sends
 * `inngest/function.cancelled` (data: function_id, run_id). This function, triggered by that event
 * for this app's functions, puts the run's session in a resting state and marks the run row
 * cancelled (./settle).
 */
import type { Inngest } from "inngest";
import { getConfig } from "../src/core/config";
import { inngest } from "./client";
import { getWorkflowDeps } from "./deps";
import { findRunByExternalId, settleRun } from "./settle";

export const CANCELLED_EVENT = "inngest/function.cancelled";

export function cancelledRunsFunction(client: Inngest, appId: string) {
  return client.createFunction(
    {
      id: "settle-cancelled-run",
      name: "Settle a cancelled run",
      // Function ids are "<app id>-<function id>" in Inngest's events.
      triggers: [{ event: CANCELLED_EVENT, if: `event.data.function_id.startsWith('${appId}-')` }],
      retries: 5,
    },
    async ({ event, step }) => {
      const deps = await getWorkflowDeps();
      const { run_id: runId, function_id: functionId } = event.data as { run_id: string; function_id: string };
      return step.run("Settle the session", async () =>
        settleRun(deps, await findRunByExternalId(deps, runId), { status: "cancelled", why: `cancelled in Inngest (${functionId})` }),
      );
    },
  );
}

const engine = getConfig().workflowEngine;
export const cancelledFunction = cancelledRunsFunction(inngest, engine.kind === "inngest" ? engine.appId : "torpor");
