/**
 * Restoring a checkpoint into a new sandbox, as steps shared by resume (the fallback rung) and
 * restore-to-checkpoint:
 *
 *   Create a new sandbox from the template → Restore the checkpoint into the new sandbox →
 *   Verify every restored file
 *
 * Verification reads the checkpoint's manifest and compares every file's SHA-256, as computed
 * inside the new sandbox, with the manifest: a restore is only accepted when every hash matches.
 * A sandbox created by a run is tagged with the session and run, so a leaked one can be found.
 */
import { sandboxLifetimeMs } from "../core/config";
import { describeError, IntegrityError } from "../core/errors";
import { localDirTarget } from "../checkpoint";
import type { WorkspaceTarget } from "../core/workspace";
import { sandboxWorkspace } from "../sandbox";
import { keepLease } from "./lease";
import { progressStep } from "./progress";
import type { Step, WorkflowDeps } from "./types";

export interface RestoredSandbox {
  sandboxId: string;
  checkpointId: string;
  files: number;
  verifiedFiles: number;
  bytes: number;
}

export async function createSandboxStep(
  step: Step,
  deps: WorkflowDeps,
  input: { sessionId: string; runId: string; template: string; label: string },
): Promise<string> {
  const info = await step.run(input.label, async () => {
    const metadata = { torporSession: input.sessionId, torporRun: input.runId, torporStep: input.label };
    // A crash after create and before the journal left this step's sandbox behind: adopt it
    // (the restore writes over whatever it holds) rather than leak it and make another.
    const [earlier, ...extra] = (await deps.sandboxes.findSandboxes?.(metadata)) ?? [];
    for (const leaked of extra) await deps.sandboxes.kill(leaked.id);
    if (earlier) return earlier.status === "paused" ? deps.sandboxes.connect(earlier.id) : earlier;
    // The same lifetime as sessions.create asks for (E2B's timeout): this session's idle deadline
    // + a sweep period + the hibernate budget, not the provider's default.
    const { idleTimeoutMs } = await deps.store.getSession(input.sessionId);
    return deps.sandboxes.create({ template: input.template, metadata, timeoutMs: sandboxLifetimeMs(deps.config.lifecycle, idleTimeoutMs) });
  });
  return info.id;
}

/**
 * Starts the session's start command again in a sandbox a restore made (the old one's processes
 * died with it), before the after-resume hooks. Advisory like a hook: the files are restored
 * whatever it does, so a failure is reported, not thrown. A replay after a crash inside this step
 * starts it a second time; a server then finds its port taken and that copy exits.
 */
export async function startCommandStep(
  step: Step,
  deps: WorkflowDeps,
  sandboxId: string,
  command: string | undefined,
): Promise<string | null> {
  if (!command) return null;
  return step.run("Start the session's start command", async () => {
    try {
      await deps.sandboxes.exec(sandboxId, command, { background: true });
      return null;
    } catch (error) {
      return `the start command '${command}' did not start: ${describeError(error)}`;
    }
  });
}

/** Compares every file of the manifest with its hash inside the sandbox. */
export async function verifyRestoredFiles(
  deps: WorkflowDeps,
  sandboxId: string,
  checkpointId: string,
): Promise<{ files: number; bytes: number }> {
  const { entries } = await deps.checkpoints.readManifest(checkpointId);
  const files = entries.filter((e) => e.type === "file");
  const hashes = await deps.sandboxes.hashFiles(sandboxId, files.map((e) => e.path));
  const wrong = files.filter((e) => hashes[e.path] !== e.hash);
  if (wrong.length > 0) {
    throw new IntegrityError("INTEGRITY", `${wrong.length} restored file(s) differ from checkpoint '${checkpointId}', first '${wrong[0]!.path}'`, {
      // Not retriable: hashing the same files again gives the same answer (a new resume restores afresh).
      details: { checkpointId, sandboxId, paths: wrong.slice(0, 20).map((e) => e.path) },
    });
  }
  return { files: files.length, bytes: files.reduce((sum, e) => sum + e.size, 0) };
}

/**
 * Runs a restore into a sandbox: into its lent workspace folder with the engine's own folder
 * writer when the provider can lend it (a new local sandbox no process has run in: about twice
 * as fast, see lendQuietWorkspace), else through the provider's checked writes.
 */
async function intoSandbox<T>(deps: WorkflowDeps, sandboxId: string, restore: (target: WorkspaceTarget) => Promise<T>): Promise<T> {
  const loan = (await deps.sandboxes.lendQuietWorkspace?.(sandboxId)) ?? null;
  if (loan === null) return restore(sandboxWorkspace(deps.sandboxes, sandboxId));
  let restored = false;
  try {
    const result = await restore(localDirTarget(loan.folder));
    restored = true;
    return result;
  } finally {
    await loan.release(restored);
  }
}

export async function restoreIntoNewSandbox(
  step: Step,
  deps: WorkflowDeps,
  input: { sessionId: string; runId: string; template: string; checkpointId: string; onCreated(id: string): void },
): Promise<RestoredSandbox> {
  const sandboxId = await createSandboxStep(step, deps, { ...input, label: "Create a new sandbox from the template" });
  input.onCreated(sandboxId);
  // A retry finds the files of the failed attempt: restoring over them is what we want.
  const restored = await progressStep(step, deps, input.runId, "Restore the checkpoint into the new sandbox", async (onProgress) => {
    const result = await keepLease(deps, input.sessionId, input.runId, () =>
      intoSandbox(deps, sandboxId, (target) => deps.checkpoints.restore(input.checkpointId, target, { allowNonEmpty: true, onProgress })),
    );
    return { files: result.files, bytes: result.bytes, verifiedFiles: result.verifiedFiles };
  });
  const verified = await step.run("Verify every restored file", () => verifyRestoredFiles(deps, sandboxId, input.checkpointId));
  return {
    sandboxId,
    checkpointId: input.checkpointId,
    files: restored.files,
    verifiedFiles: verified.files,
    bytes: verified.bytes,
  };
}
