/**
 * Everything the app's /api/inngest route needs: the client and the functions list for serve().
 * Serve them only when `inngestConfigured(config)`: with the embedded engine nothing may reach
 * Inngest (the SDK answers 500 without a signing key, and sending needs an event key).
 *
 *   // app/api/inngest/route.ts
 *   export const { GET, POST, PUT } = serve({ client: inngest, functions });
 */
import { archiveFunction } from "./archive";
import { cancelledFunction } from "./cancelled";
import { deleteFunction } from "./delete";
import { flushFunction } from "./flush";
import { hibernateFunction } from "./hibernate";
import { idleSweepFunction } from "./idle-sweep";
import { restoreFunction } from "./restore";
import { resumeFunction } from "./resume";
import { retentionFunction } from "./retention";
import { snapshotFunction } from "./snapshot";

export { inngest, inngestConfigured, createInngestClient, torporEvents } from "./client";
export { setWorkflowDeps } from "./deps";
export {
  archiveFunction,
  cancelledFunction,
  deleteFunction,
  flushFunction,
  hibernateFunction,
  idleSweepFunction,
  restoreFunction,
  resumeFunction,
  retentionFunction,
  snapshotFunction,
};

export const functions = [
  idleSweepFunction,
  hibernateFunction,
  archiveFunction,
  resumeFunction,
  snapshotFunction,
  restoreFunction,
  deleteFunction,
  retentionFunction,
  flushFunction,
  cancelledFunction,
];
