/**
 * Reading a sandbox frozen. A provider whose sandboxes stay readable while paused (local) is
 * frozen while a checkpoint reads it: its processes cannot change or swap what is being read, and
 * the checkpoint is one moment of the workspace. Providers that can read only a running sandbox
 * (E2B) are read live, and their archive compares against the manifest instead (issue 10).
 */
import type { SandboxProvider } from "../sandbox/types";
import type { WorkflowDeps } from "./types";

/** Whether checkpoints of this provider's sandboxes are read with the sandbox frozen. */
export function freezesForReads(sandboxes: Pick<SandboxProvider, "supportsPause" | "readsWhilePaused">): boolean {
  return sandboxes.supportsPause && sandboxes.readsWhilePaused === true;
}

/**
 * Runs `read` with the sandbox frozen where the provider allows it (`frozen` says which), and
 * lets it run again whatever happens; a replay after a crash in between freezes and thaws again
 * (pause and connect are idempotent).
 */
export async function whileFrozen<T>(deps: Pick<WorkflowDeps, "sandboxes">, sandboxId: string, read: (frozen: boolean) => Promise<T>): Promise<T> {
  const frozen = freezesForReads(deps.sandboxes);
  if (frozen) await deps.sandboxes.pause(sandboxId);
  try {
    return await read(frozen);
  } finally {
    if (frozen) await deps.sandboxes.connect(sandboxId);
  }
}
