/** Inngest function: hourly checkpoint retention and gc (src/workflows/retention.ts). */
import { createRetentionWorkflow } from "../src/workflows/retention";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const retentionFunction = workflowFunction(inngest, createRetentionWorkflow());
