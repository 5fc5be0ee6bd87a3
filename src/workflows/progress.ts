/**
 * A long step's progress (taking, restoring or verifying a checkpoint), carried from the
 * checkpoint engine's onProgress callback to the run's row, where the dashboard shows it.
 *
 * Progress is advisory, so it must never slow down or fail the step it describes:
 * - writes are throttled: at most one every TORPOR_PROGRESS_INTERVAL_MS (the engine reports every
 *   64 files, thousands of times a minute), never two in flight, and only the latest value is kept;
 * - the latest value is always written eventually (a trailing write), and the last one the engine
 *   reported is written when the step's work ends, so the row's last value is the final count;
 * - when the work ends, however it ends, the progress is cleared (null): it describes a running
 *   step, and a stale bar on a finished run would mislead;
 * - a failed write is logged with the run, the step and the cause, and the step goes on.
 *
 * The run id is the store's run id: the embedded engine's run id, and under Inngest the id of the
 * run row that inngest/wrap.ts records (it passes that id to the workflow as its run id).
 */
import { describeError } from "../core/errors";
import type { RunProgress } from "../core/types";
import type { Step, WorkflowDeps } from "./types";

/** What the checkpoint engine reports (SnapshotProgress, RestoreProgress). */
export type EngineProgress = Omit<RunProgress, "step" | "updatedAt">;

export interface ProgressWriter {
  /** Give this to the checkpoint engine as `onProgress`. */
  report(progress: EngineProgress): void;
  /** Writes the last reported value, then clears the progress; waits for both writes. Never throws. */
  close(): Promise<void>;
}

export function progressWriter(
  deps: Pick<WorkflowDeps, "store" | "now" | "log">,
  runId: string,
  step: string,
  intervalMs: number,
): ProgressWriter {
  const log = deps.log ?? ((message: string) => console.error(`[torpor] ${message}`));
  let latest: EngineProgress | null = null; // reported, not yet written
  let inFlight: Promise<void> | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  // Wall-clock time, not deps.now(): the throttle is about the store's write rate, and tests may
  // freeze deps.now.
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let closed = false;
  let failures = 0;

  const write = (value: RunProgress | null): Promise<void> => {
    lastWriteAt = Date.now();
    const done = deps.store
      .setRunProgress(runId, value)
      .catch((error: unknown) => {
        // Logged once, then counted: a store that is down would otherwise log twice a second.
        if (failures++ === 0) log(`run ${runId}: could not record the progress of '${step}' (the step goes on): ${describeError(error)}`);
      })
      .finally(() => {
        inFlight = null;
        schedule();
      });
    inFlight = done;
    return done;
  };
  const flush = () => {
    timer = null;
    if (closed || inFlight !== null || latest === null) return;
    const value = latest;
    latest = null;
    void write({ step, ...value, updatedAt: deps.now() });
  };
  function schedule(): void {
    if (closed || timer !== null || inFlight !== null || latest === null) return;
    timer = setTimeout(flush, Math.max(0, lastWriteAt + intervalMs - Date.now()));
    // A pending progress write must not keep a process alive that is otherwise done.
    timer.unref?.();
  }

  return {
    report(progress) {
      if (closed) return;
      const { phase, filesDone, filesTotal, bytesDone, bytesTotal } = progress;
      latest = { phase, filesDone, filesTotal, bytesDone, bytesTotal };
      schedule();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await inFlight;
      if (latest !== null) await write({ step, ...latest, updatedAt: deps.now() });
      await write(null);
      if (failures > 1) log(`run ${runId}: ${failures} progress writes of '${step}' failed in all`);
    },
  };
}

/** Runs `work` with an onProgress that lands on the run's row; clears the progress when it ends. */
export async function withRunProgress<T>(
  deps: Pick<WorkflowDeps, "config" | "store" | "now" | "log">,
  runId: string,
  step: string,
  work: (onProgress: (progress: EngineProgress) => void) => Promise<T>,
): Promise<T> {
  const writer = progressWriter(deps, runId, step, deps.config.lifecycle.progressIntervalMs);
  try {
    return await work((progress) => writer.report(progress));
  } finally {
    await writer.close();
  }
}

/**
 * A step whose body is handed its own id, to name it in the run's progress: the id is the label the
 * dashboard shows, so it is written once (a label that drifted from the id would name a step the
 * run does not have).
 */
export function namedStep<T>(step: Step, name: string, body: (stepName: string) => Promise<T>): Promise<T> {
  return step.run(name, () => body(name));
}

/** A named step whose whole work reports progress under the step's id. */
export function progressStep<T>(
  step: Step,
  deps: Pick<WorkflowDeps, "config" | "store" | "now" | "log">,
  runId: string,
  name: string,
  work: (onProgress: (progress: EngineProgress) => void) => Promise<T>,
): Promise<T> {
  return namedStep(step, name, (stepName) => withRunProgress(deps, runId, stepName, work));
}
