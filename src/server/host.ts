/**
 * How Next's route handlers find the running system. The start command builds the runtime once
 * and publishes it under a globalThis key before Next serves a request: Next bundles its own copy
 * of every module, so a module-level variable would not be shared, but globalThis is.
 */
import type { WorkflowDeps } from "../workflows/types";
import type { ApiDeps } from "./context";

export interface AppHost {
  deps: ApiDeps;
  authSecret: string;
  /** What Inngest functions served at /api/inngest run against: the same runtime's ports. */
  workflowDeps: WorkflowDeps;
}

const KEY = Symbol.for("torpor.app-host");

type WithHost = typeof globalThis & { [KEY]?: AppHost | Promise<AppHost> };

export function publishAppHost(host: AppHost | Promise<AppHost> | undefined): void {
  (globalThis as WithHost)[KEY] = host;
}

export function publishedAppHost(): AppHost | Promise<AppHost> | undefined {
  return (globalThis as WithHost)[KEY];
}
