/**
 * Workflows are written once against this small Step interface and registered twice: as Inngest
 * functions (inngest/) and on the embedded engine (src/engine). Step ids are short, stable
 * sentences ("Flush pending changes"): both engines memoize by id, so renaming one is a breaking
 * change for runs in flight.
 */
import type { CheckpointEngine } from "../checkpoint/types";
import type { Config } from "../core/config";
import type { SandboxProvider } from "../sandbox/types";
import type { StateStore } from "../store/types";

export interface Step {
  /** Runs `fn` once; a replay returns the recorded result. The result must be JSON-serialisable. */
  run<T>(id: string, fn: () => Promise<T> | T): Promise<T>;
  sleep(id: string, ms: number): Promise<void>;
  /** Sends an event that may trigger other workflows. */
  sendEvent(id: string, event: TorporEvent): Promise<void>;
}

/** Everything a workflow may touch: the ports, never an adapter. */
export interface WorkflowDeps {
  config: Config;
  store: StateStore;
  checkpoints: CheckpointEngine;
  sandboxes: SandboxProvider;
  now(): number;
}

/** The events that trigger workflows; their zod schemas live in src/workflows/events.ts. */
export type TorporEvent =
  | { name: "torpor/session.hibernate.requested"; data: { sessionId: string; reason: string; requestId: string } }
  | { name: "torpor/session.archive.requested"; data: { sessionId: string; reason: string; requestId: string } }
  | { name: "torpor/session.resume.requested"; data: { sessionId: string; reason: string; requestId: string } }
  | {
      name: "torpor/session.snapshot.requested";
      data: { sessionId: string; label: string | null; requestId: string };
    }
  | {
      name: "torpor/session.restore.requested";
      data: { sessionId: string; checkpointId: string; requestId: string };
    }
  | { name: "torpor/session.delete.requested"; data: { sessionId: string; requestId: string } };

export type EventName = TorporEvent["name"];

/** The event a cron-triggered workflow receives: which schedule fired, and for which minute. */
export interface CronTick {
  name: "torpor/cron.tick";
  data: { workflow: string; scheduledAt: number };
}

export interface WorkflowContext<E> {
  event: E;
  step: Step;
  runId: string;
  deps: WorkflowDeps;
}

export type WorkflowTrigger = { event: EventName } | { cron: string };

export interface WorkflowDefinition<E = unknown, R = unknown> {
  /** Stable id, also the Inngest function id. */
  id: string;
  name: string;
  trigger: WorkflowTrigger;
  retries: number;
  /** Key for a concurrency limit of 1 (per session); undefined: no limit. */
  concurrencyKey?: (event: E) => string;
  /** Key that makes a second event with the same value a no-op (the request id). */
  idempotencyKey?: (event: E) => string;
  handler(context: WorkflowContext<E>): Promise<R>;
}

/** How the app asks for work: the embedded engine in-process, or inngest.send(). */
export interface WorkflowDispatcher {
  readonly kind: "embedded" | "inngest";
  send(event: TorporEvent): Promise<{ ids: string[] }>;
}
