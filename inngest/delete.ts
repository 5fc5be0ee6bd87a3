/** Inngest function: Delete a session (src/workflows/delete.ts). */
import { deleteWorkflow } from "../src/workflows/delete";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const deleteFunction = workflowFunction(inngest, deleteWorkflow);
