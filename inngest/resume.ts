/** Inngest function: Resume a session down the fallback ladder (src/workflows/resume.ts). */
import { resumeWorkflow } from "../src/workflows/resume";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const resumeFunction = workflowFunction(inngest, resumeWorkflow);
