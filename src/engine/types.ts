/**
 * The contract between workflows and the engines that run them. Workflows are written once
 * against this small Step interface and registered twice: as Inngest functions (inngest/) and on
 * the embedded engine (./engine). Step ids are short, stable sentences ("Flush pending changes"):
 * both engines memoize by id, so renaming one is a breaking change for runs in flight.
 *
 * The engine does not know what workflows touch: `D` is the dependencies object they receive.
 */
import type { EventName, TorporEvent } from "../core/events";

export interface Step {
  /** Runs `fn` once; a replay returns the recorded result. The result must be JSON-serialisable. */
  run<T>(id: string, fn: () => Promise<T> | T): Promise<T>;
  sleep(id: string, ms: number): Promise<void>;
  /** Sends an event that may trigger other workflows. */
  sendEvent(id: string, event: TorporEvent): Promise<void>;
}

export interface WorkflowContext<E, D> {
  event: E;
  step: Step;
  runId: string;
  deps: D;
}

export type WorkflowTrigger = { event: EventName } | { cron: string };

export interface WorkflowDefinition<E, R, D> {
  /** Stable id, also the Inngest function id. */
  id: string;
  name: string;
  trigger: WorkflowTrigger;
  retries: number;
  /** Key for a concurrency limit of 1 (per session); undefined: no limit. */
  concurrencyKey?: (event: E) => string;
  /** Key that makes a second event with the same value a no-op (the request id). */
  idempotencyKey?: (event: E) => string;
  handler(context: WorkflowContext<E, D>): Promise<R>;
}

/** How the app asks for work: the embedded engine in-process, or inngest.send(). */
export interface WorkflowDispatcher {
  readonly kind: "embedded" | "inngest";
  send(event: TorporEvent): Promise<{ ids: string[] }>;
}
