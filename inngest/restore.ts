/** Inngest function: Restore a session to a chosen checkpoint (src/workflows/restore-to-checkpoint.ts). */
import { restoreWorkflow } from "../src/workflows/restore-to-checkpoint";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const restoreFunction = workflowFunction(inngest, restoreWorkflow);
