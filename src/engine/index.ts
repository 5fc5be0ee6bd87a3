/** The embedded workflow engine: see ./engine for the design, ./journal for steps and retries. */
export { createEmbeddedEngine, type EmbeddedEngine, type EmbeddedEngineOptions } from "./engine";
export { backoffMs, EngineStoppedError, isRetriable, type RetryPolicy } from "./journal";
export type { Step, WorkflowContext, WorkflowDefinition, WorkflowDispatcher, WorkflowTrigger } from "./types";
