/**
 * Session hooks: commands run inside the sandbox before a checkpoint (stop the dev server, git
 * commit…) and after a resume or restore (start the dev server…). Each hook is its own step, so it
 * is retried on its own and a replay does not run a finished hook again. A hook that still fails
 * after its retries is reported in the run result and the workflow goes on: a hook never decides
 * whether files are kept.
 */
import { describeError, SandboxError } from "../core/errors";
import type { Step, WorkflowDeps } from "./types";

export type HookPhase = "before-checkpoint" | "after-resume";

export interface HookReport {
  phase: HookPhase;
  command: string;
  ok: boolean;
  exitCode: number | null;
  error: string | null;
}

/** One attempt of a hook, bounded by the hook time limit. Throws on a non-zero exit (retried). */
export async function runHookOnce(
  deps: WorkflowDeps,
  sandboxId: string,
  command: string,
): Promise<{ exitCode: number | null }> {
  const timeoutMs = deps.config.lifecycle.hookTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SandboxError("TIMEOUT", `Hook '${command}' ran longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const result = await Promise.race([deps.sandboxes.exec(sandboxId, command, { timeoutMs }), limit]);
    if (result.exitCode !== 0) {
      const output = (result.stderr || result.stdout).trim().slice(-500);
      throw new SandboxError("PROVIDER", `Hook '${command}' exited with ${result.exitCode}: ${output}`, {
        retriable: true,
        details: { command, exitCode: result.exitCode },
      });
    }
    return { exitCode: result.exitCode };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs each hook as a step named by its phase and position; failures are reported, not thrown. */
export async function runHooks(
  step: Step,
  deps: WorkflowDeps,
  phase: HookPhase,
  sandboxId: string,
  commands: string[],
): Promise<HookReport[]> {
  const reports: HookReport[] = [];
  for (const [index, command] of commands.entries()) {
    const label = phase === "before-checkpoint" ? "before-checkpoint" : "after-resume";
    try {
      const { exitCode } = await step.run(`Run ${label} hook ${index + 1}`, () => runHookOnce(deps, sandboxId, command));
      reports.push({ phase, command, ok: true, exitCode, error: null });
    } catch (error) {
      reports.push({ phase, command, ok: false, exitCode: null, error: describeError(error) });
    }
  }
  return reports;
}
