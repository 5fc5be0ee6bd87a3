/** Inngest function: Restore a session to a chosen checkpoint (src/workflows/restore.ts). */
import { restoreWorkflow } from "../src/workflows/restore";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const restoreFunction = workflowFunction(inngest, restoreWorkflow);
