/**
 * The workflows' view of the engine contract (src/engine/types): what a Torpor workflow receives
 * as dependencies. Everything a workflow may touch is a port, never an adapter.
 */
import type { CheckpointEngine } from "../checkpoint/types";
import type { Config } from "../core/config";
import type { SandboxProvider } from "../sandbox/types";
import type { StateStore } from "../store/types";
import type {
  WorkflowContext as EngineWorkflowContext,
  WorkflowDefinition as EngineWorkflowDefinition,
} from "../engine/types";

export type { CronTick, EventName, TorporEvent } from "../core/events";
export type { Step, WorkflowDispatcher, WorkflowTrigger } from "../engine/types";

export interface WorkflowDeps {
  config: Config;
  store: StateStore;
  checkpoints: CheckpointEngine;
  sandboxes: SandboxProvider;
  now(): number;
  /** Where advisory problems go that must not fail a step (a lost progress write); default console.error. */
  log?: (message: string) => void;
}

export type WorkflowContext<E> = EngineWorkflowContext<E, WorkflowDeps>;
export type WorkflowDefinition<E = unknown, R = unknown> = EngineWorkflowDefinition<E, R, WorkflowDeps>;

/**
 * A workflow started by a request about one session. Every such workflow runs one at a time per
 * session (the lease is the guarantee; this keeps runs from queueing on it) and at most once per
 * request id (a retried HTTP call or a repeated sweep starts nothing new), on both engines.
 */
export function sessionWorkflow<E extends { data: { sessionId: string; requestId: string } }, R>(
  definition: Omit<WorkflowDefinition<E, R>, "concurrencyKey" | "idempotencyKey">,
): WorkflowDefinition<E, R> {
  return {
    ...definition,
    concurrencyKey: (event) => event.data.sessionId,
    idempotencyKey: (event) => event.data.requestId,
  };
}
