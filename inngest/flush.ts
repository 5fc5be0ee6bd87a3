/** Inngest function: Flush a running session's changes (src/workflows/flush.ts). */
import { flushWorkflow } from "../src/workflows/flush";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const flushFunction = workflowFunction(inngest, flushWorkflow);
