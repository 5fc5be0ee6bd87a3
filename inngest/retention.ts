/** Inngest function: hourly checkpoint retention and gc (src/workflows/retention-workflow.ts). */
import { createRetentionWorkflow } from "../src/workflows/retention-workflow";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const retentionFunction = workflowFunction(inngest, createRetentionWorkflow());
