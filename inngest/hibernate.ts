/** Inngest function: Hibernate a session when it is idle or on request (src/workflows/hibernate.ts). */
import { hibernateWorkflow } from "../src/workflows/hibernate";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const hibernateFunction = workflowFunction(inngest, hibernateWorkflow);
