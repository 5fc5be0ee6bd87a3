/**
 * Everything the app's /api/inngest route needs: the client and the functions list for serve().
 * Serve them only when `inngestConfigured(config)`: with the embedded engine nothing may reach
 * Inngest (the SDK answers 500 without a signing key, and sending needs an event key).
 *
 *   // app/api/inngest/route.ts
 *   export const { GET, POST, PUT } = serve({ client: inngest, functions });
 *
 * One registry: every workflow of createWorkflows (src/workflows/index.ts, the list the embedded
 * engine runs too) becomes an Inngest function through workflowFunction (./wrap), so a workflow
 * added there is served here with nothing else to change. The named exports are those functions,
 * for tests and host apps that need one.
 */
import { getConfig } from "../src/core/config";
import { createWorkflows } from "../src/workflows";
import { cancelledFunction } from "./cancelled";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export { inngest, inngestConfigured, createInngestClient, torporEvents } from "./client";
export { setWorkflowDeps } from "./deps";
export { cancelledFunction };

const byId = new Map(createWorkflows(getConfig()).map((workflow) => [workflow.id, workflowFunction(inngest, workflow)]));

function registered(id: string) {
  const fn = byId.get(id);
  if (!fn) throw new Error(`No workflow '${id}' in createWorkflows (src/workflows/index.ts)`);
  return fn;
}

export const idleSweepFunction = registered("idle-sweep");
export const hibernateFunction = registered("hibernate-session");
export const archiveFunction = registered("archive-session");
export const resumeFunction = registered("resume-session");
export const snapshotFunction = registered("snapshot-session");
export const restoreFunction = registered("restore-session");
export const deleteFunction = registered("delete-session");
export const retentionFunction = registered("retention");
export const flushFunction = registered("flush-session");

export const functions = [...byId.values(), cancelledFunction];
