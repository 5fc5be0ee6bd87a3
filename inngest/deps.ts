/**
 * Where the Inngest functions get their ports (WorkflowDeps). By default the first invocation
 * builds the runtime from the process's settings (src/runtime, without cron: Inngest owns the
 * schedules) and keeps it for the life of the process. Tests, and a host that already built a
 * runtime, set the provider instead.
 */
import { getConfig } from "../src/core/config";
import type { WorkflowDeps } from "../src/workflows/types";

type DepsProvider = () => Promise<WorkflowDeps>;

let provider: DepsProvider | undefined;
let built: Promise<WorkflowDeps> | undefined;

export function setWorkflowDeps(next: DepsProvider | WorkflowDeps | undefined): void {
  provider = next === undefined ? undefined : typeof next === "function" ? next : async () => next;
  built = undefined;
}

export function getWorkflowDeps(): Promise<WorkflowDeps> {
  if (provider) return provider();
  built ??= import("../src/runtime").then(async ({ createRuntime }) => (await createRuntime(getConfig())).deps);
  return built;
}
