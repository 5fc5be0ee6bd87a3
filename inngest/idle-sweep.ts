/** Inngest function: the idle sweep on the configured cron (src/workflows/idle-sweep.ts). */
import { getConfig } from "../src/core/config";
import { createIdleSweepWorkflow } from "../src/workflows/idle-sweep";
import { inngest } from "./client";
import { workflowFunction } from "./wrap";

export const idleSweepFunction = workflowFunction(inngest, createIdleSweepWorkflow(getConfig().lifecycle.sweepCron));
