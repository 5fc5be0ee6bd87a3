/** Inngest function: Take a manual snapshot (src/workflows/snapshot.ts). */
import { snapshotWorkflow } from "../src/workflows/snapshot";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const snapshotFunction = workflowFunction(inngest, snapshotWorkflow);
