/**
 * Healing a checkpoint that failed verification before an archive.
 *
 * An incremental checkpoint reuses its parent's objects for unchanged files, and dedup trusts
 * objects that exist; so once one object is damaged, every later checkpoint of the session names it
 * too, and every archive would be refused for good. While the sandbox is still there, its files are
 * the truth: a rewrite snapshot (SnapshotOptions.rewrite) reads and stores every one of them again,
 * which also replaces a damaged large blob in place. The archive kills the sandbox only once that
 * healing checkpoint is committed and verified (invariant 1).
 */
import { describeError, IntegrityError, isTorporError } from "../core/errors";
import { commitSnapshot, flushAndSnapshot } from "./checkpointing";
import { guardLease, isSandboxLost } from "./lease";
import type { EngineProgress } from "./progress";
import type { WorkflowDeps } from "./types";

export const HEALING_STEP = "Take a healing checkpoint after a failed verify";

/** What a verify step journals: the first problem is enough for a message, the run keeps it. */
export type VerifyOutcome = { ok: true; files: number; bytes: number } | { ok: false; problem: string };

/**
 * Verifies a checkpoint (run it in a progressStep, which names the step in the progress). Damaged or missing objects (the manifest included) are an outcome, not an
 * error, so that the archive can decide to heal; anything else (storage down) still throws.
 */
export async function verifyOutcome(
  deps: WorkflowDeps,
  checkpointId: string,
  onProgress: (progress: EngineProgress) => void,
): Promise<VerifyOutcome> {
  try {
    const verified = await deps.checkpoints.verify(checkpointId, { onProgress });
    if (verified.ok) return { ok: true, files: verified.files, bytes: verified.bytes };
    const first = verified.problems[0];
    const more = verified.problems.length > 1 ? ` (and ${verified.problems.length - 1} more)` : "";
    return { ok: false, problem: `${first?.path}: ${first?.problem}${more}` };
  } catch (error) {
    if (isTorporError(error, "INTEGRITY") || isTorporError(error, "NOT_FOUND")) return { ok: false, problem: describeError(error) };
    throw error;
  }
}

/** The refusal of an archive: not retriable, since no retry changes the stored bytes. */
export function verifyRefused(checkpointId: string, problem: string, why?: string): IntegrityError {
  return new IntegrityError("INTEGRITY", `Checkpoint '${checkpointId}' failed verification: ${problem}${why ? `; ${why}` : ""}`, {
    details: { checkpointId },
  });
}

/**
 * The body of HEALING_STEP: a rewrite checkpoint of the sandbox on top of the damaged one,
 * committed (so the session's latest checkpoint is the healing one). A lost sandbox makes healing
 * impossible: the archive is refused with the original problem, as before healing existed.
 */
export async function takeHealingCheckpoint(
  deps: WorkflowDeps,
  input: { sessionId: string; runId: string; sandboxId: string; damagedId: string; problem: string },
): Promise<{ checkpointId: string }> {
  const { sessionId, runId, sandboxId, damagedId, problem } = input;
  await guardLease(deps, sessionId, runId);
  try {
    if (deps.sandboxes.supportsPause && !deps.sandboxes.readsWhilePaused) await deps.sandboxes.connect(sandboxId);
    const taken = await flushAndSnapshot(deps, { sessionId, sandboxId, parentId: damagedId, runId, kind: "hibernate", stepName: HEALING_STEP, rewrite: true });
    await commitSnapshot(deps, sessionId, taken, "hibernate", "healing checkpoint after a failed verify");
    return { checkpointId: taken.checkpointId };
  } catch (error) {
    if (!isSandboxLost(error)) throw error;
    throw verifyRefused(damagedId, problem, `cannot heal it: ${describeError(error)}`);
  }
}
