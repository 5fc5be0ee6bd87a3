/**
 * The embedded engine's Step: each step's result is journaled in the state store (the run's step
 * records, output as JSON), so that a run replayed after a crash returns recorded results instead
 * of doing the work again, and continues from its last finished step.
 *
 * Retries: a step that throws a retriable error is tried again after an exponential backoff
 * (base · 2^(attempt-1), capped, with jitter) until the workflow's retry budget for that step is
 * spent; a non-retriable error (TorporError with retriable false) fails the step at once. A failed
 * step is journaled too: a replay throws the same error again, as Inngest does.
 */
import { describeError, isTorporError, TorporError } from "../core/errors";
import type { StepRecord } from "../core/types";
import type { StateStore } from "../store/types";
import type { TorporEvent } from "../core/events";
import type { Step } from "./types";

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  baseMs: number;
  maxMs: number;
}

export function backoffMs(attempt: number, policy: Pick<RetryPolicy, "baseMs" | "maxMs">): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.75 + Math.random() * 0.5));
}

/** Unknown errors (a bug, a library's plain Error) are retried: they may be transient. */
export function isRetriable(error: unknown): boolean {
  return isTorporError(error) ? error.retriable : true;
}

/** Raised inside a run when the engine stops: the run stays "running" and continues on restart. */
export class EngineStoppedError extends TorporError {
  constructor() {
    super("INTERNAL", "The workflow engine stopped; the run continues when it starts again", { retriable: false });
  }
}

export interface JournalOptions {
  store: StateStore;
  runId: string;
  steps: StepRecord[];
  retry: RetryPolicy;
  now(): number;
  send(event: TorporEvent): Promise<{ ids: string[] }>;
  isStopping(): boolean;
  /** Waits `ms` unless the engine stops first. */
  delay(ms: number): Promise<void>;
}

export function createJournaledStep(options: JournalOptions): Step {
  const { store, runId, retry } = options;
  const journal = new Map(options.steps.map((s) => [s.name, s]));

  const record = async (step: StepRecord) => {
    journal.set(step.name, step);
    await store.recordStep(runId, step);
  };

  async function run<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
    const prior = journal.get(id);
    if (prior?.status === "completed") return JSON.parse(prior.output ?? "null") as T;
    if (prior?.status === "failed") {
      throw new TorporError("INTERNAL", `Step '${id}' failed earlier: ${prior.error}`, { retriable: false });
    }
    const startedAt = prior?.startedAt ?? options.now();
    let attempts = prior?.attempts ?? 0;
    // Why earlier attempts failed, kept in the failed step's error: a retry is always explainable.
    const earlier: string[] = prior?.error ? [prior.error] : [];
    for (;;) {
      if (options.isStopping()) throw new EngineStoppedError();
      attempts += 1;
      const base = { name: id, attempts, startedAt, endedAt: null, output: null };
      await record({ ...base, status: "running", error: prior?.error ?? null });
      try {
        const value = await fn();
        const output = JSON.stringify(value === undefined ? null : value);
        await record({ ...base, status: "completed", endedAt: options.now(), error: null, output });
        // Return what a replay would return, so both paths see identical values.
        return JSON.parse(output) as T;
      } catch (error) {
        if (error instanceof EngineStoppedError) throw error;
        const message = describeError(error);
        if (isRetriable(error) && attempts <= retry.retries) {
          if (options.isStopping()) throw new EngineStoppedError();
          earlier.push(`attempt ${attempts}: ${message}`);
          await record({ ...base, status: "running", error: earlier.at(-1)! });
          await options.delay(backoffMs(attempts, retry));
          continue;
        }
        const history = earlier.length > 0 ? ` (earlier: ${earlier.join("; ")})` : "";
        await record({ ...base, status: "failed", endedAt: options.now(), error: `${message}${history}` });
        throw error;
      }
    }
  }

  return {
    run,
    async sleep(id, ms) {
      const { until } = await run(id, () => ({ until: options.now() + ms }));
      const left = until - options.now();
      if (left > 0) await options.delay(left);
      if (options.isStopping()) throw new EngineStoppedError();
    },
    async sendEvent(id, event) {
      await run(id, () => options.send(event));
    },
  };
}
