/**
 * The workflow definitions, registered on both engines: the embedded engine (src/engine) and
 * Inngest (inngest/). Cron schedules come from the configuration.
 */
import type { Config } from "../core/config";
import { archiveWorkflow } from "./archive";
import { deleteWorkflow } from "./delete";
import { flushWorkflow } from "./flush";
import { hibernateWorkflow } from "./hibernate";
import { createIdleSweepWorkflow } from "./idle-sweep";
import { restoreWorkflow } from "./restore-to-checkpoint";
import { resumeWorkflow } from "./resume";
import { createRetentionWorkflow } from "./retention";
import { snapshotWorkflow } from "./snapshot";
import type { WorkflowDefinition } from "./types";

export { archiveWorkflow, deleteWorkflow, flushWorkflow, hibernateWorkflow, restoreWorkflow, resumeWorkflow, snapshotWorkflow };
export { createIdleSweepWorkflow, createRetentionWorkflow };
export * from "./types";
export { parseEvent, eventDataSchemas, EVENT_NAMES } from "../core/events";
export { planRetention } from "../core/retention";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkflow = WorkflowDefinition<any, any>;

export function createWorkflows(config: Pick<Config, "lifecycle">): AnyWorkflow[] {
  return [
    createIdleSweepWorkflow(config.lifecycle.sweepCron),
    hibernateWorkflow,
    archiveWorkflow,
    resumeWorkflow,
    snapshotWorkflow,
    restoreWorkflow,
    deleteWorkflow,
    createRetentionWorkflow(),
    flushWorkflow,
  ];
}
