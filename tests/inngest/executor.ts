/**
 * A small model of how Inngest runs a function, over the SDK's own execution engine (the same
 * entry point @inngest/test uses), for what @inngest/test 1.0 does not model (STACK-NOTES):
 *
 * - one request per step; each finished step is memoized (data, or its error) and the function is
 *   called again with that state, so a step that failed for good reaches the handler as a
 *   StepError and its catch and clean-up steps run, as on Inngest;
 * - a retriable step error (op StepError) is retried up to `retries` times before it is memoized
 *   as failed; NonRetriableError (op StepFailed) is memoized as failed at once;
 * - step.sleep is memoized as done after `onSleep` ran (a test can run another function there);
 * - step.sendEvent is recorded instead of sent (no event key in tests).
 *
 * The run reports every step as Inngest would list it (name, failed or not), so tests can count
 * steps against Inngest's cap of 1,000 per run.
 */
import { InngestExecutionEngine, ServerTiming } from "inngest/internals";
import { StepMode } from "inngest/types";

export interface ModelledStep {
  name: string;
  op: string;
  failed: boolean;
  error?: { name?: string; message?: string; cause?: unknown };
}

export interface ModelledRun {
  result?: unknown;
  error?: { name?: string; message?: string; cause?: unknown };
  steps: ModelledStep[];
  sent: { name: string; data: Record<string, unknown> }[];
  requests: number;
}

export interface ModelOptions {
  retries?: number;
  /** Called when the run sleeps; the sleep then ends. */
  onSleep?: (name: string) => Promise<void> | void;
  /** Stop after this many requests (a run that never ends is a test failure, not a hang). */
  maxRequests?: number;
  /** "failure": run the function's onFailure handler (the event is then inngest/function.failed). */
  handler?: "main" | "failure";
}

/** Inngest fails a run that goes past this many steps. */
export const INNGEST_STEP_CAP = 1000;

type Fn = { createExecution(opts: unknown): { start(): Promise<Record<string, unknown>> }; client?: unknown };

// The SDK's step results (step-ran, steps-found) as far as this model reads them.
interface OutStep {
  id: string;
  op: string;
  name?: string;
  displayName?: string;
  data?: unknown;
  error?: { name?: string; message?: string; cause?: unknown };
}

export async function runModelled(fnLike: unknown, event: { name: string; data: Record<string, unknown> }, options: ModelOptions = {}): Promise<ModelledRun> {
  const fn = fnLike as Fn;
  const retries = options.retries ?? 0;
  const state: Record<string, { id: string; data?: unknown; error?: unknown }> = {};
  const order: string[] = [];
  const run: ModelledRun = { steps: [], sent: [], requests: 0 };
  const runId = `01MODEL${Math.random().toString(36).slice(2, 12).toUpperCase()}`;
  const ev = { id: `ev-${runId}`, ts: Date.now(), ...event };
  let attempt = 0;
  let requestedRunStep: string | undefined;
  const memoize = (step: OutStep, entry: { data?: unknown; error?: unknown }, failed: boolean) => {
    state[step.id] = { id: step.id, ...entry };
    order.push(step.id);
    run.steps.push({ name: step.displayName ?? step.name ?? step.id, op: step.op, failed, ...(failed ? { error: step.error } : {}) });
    attempt = 0;
  };
  for (;;) {
    if (++run.requests > (options.maxRequests ?? 5000)) throw new Error(`the run did not end within ${run.requests - 1} requests`);
    const execution = fn.createExecution({
      partialOptions: {
        runId,
        client: (fnLike as { client: unknown }).client,
        data: { runId, attempt, event: ev, events: [ev] },
        reqArgs: [],
        headers: {},
        stepCompletionOrder: [...order],
        stepState: state,
        stepMode: StepMode.Async,
        disableImmediateExecution: false,
        isFailureHandler: options.handler === "failure",
        handlerKind: options.handler ?? "main",
        timer: new ServerTiming.ServerTiming({ info() {}, warn() {}, error() {}, debug() {} } as never),
        requestedRunStep,
        transformCtx: (ctx: { step: Record<string, unknown> }) => ({
          ...ctx,
          step: {
            ...ctx.step,
            // Recorded, not sent: the payload is what Inngest would receive.
            sendEvent: (id: string, payload: { name: string; data: Record<string, unknown> }) =>
              (ctx.step.run as (id: string, fn: () => unknown) => Promise<unknown>)(id, () => {
                run.sent.push({ name: payload.name, data: payload.data });
                return { ids: [] };
              }),
          },
        }),
      },
    });
    requestedRunStep = undefined;
    const out = await execution.start();
    switch (out.type) {
      case "function-resolved":
        run.result = out.data;
        return run;
      case "function-rejected":
        if (out.retriable !== false && attempt < retries) {
          attempt++;
          continue;
        }
        run.error = out.error as ModelledRun["error"];
        return run;
      case "step-ran": {
        const step = out.step as OutStep;
        if (run.steps.length >= INNGEST_STEP_CAP) {
          run.error = { name: "StepLimitExceeded", message: `the run passed Inngest's cap of ${INNGEST_STEP_CAP} steps` };
          return run;
        }
        if (step.error === undefined) {
          memoize(step, { data: step.data ?? null }, false);
        } else if (step.op !== "StepFailed" && attempt < retries) {
          attempt++;
        } else {
          memoize(step, { error: step.error }, true);
        }
        continue;
      }
      case "steps-found": {
        const steps = out.steps as OutStep[];
        const sleep = steps.find((s) => s.op === "Sleep");
        if (sleep) {
          await options.onSleep?.(sleep.displayName ?? sleep.name ?? sleep.id);
          memoize(sleep, { data: null }, false);
        } else {
          requestedRunStep = steps[0]!.id;
        }
        continue;
      }
      default:
        continue;
    }
  }
}

/** Inngest's hash of a step id (how memoized state is keyed). */
export const hashStepId = (id: string): string => InngestExecutionEngine._internals.hashId(id);
