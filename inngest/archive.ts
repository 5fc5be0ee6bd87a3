/** Inngest function: Archive a paused session (src/workflows/archive.ts). */
import { archiveWorkflow } from "../src/workflows/archive";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const archiveFunction = workflowFunction(inngest, archiveWorkflow);
