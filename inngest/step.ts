/**
 * The Step contract (src/engine/types) over Inngest's step tools, and how errors cross a step's
 * boundary on Inngest.
 *
 * - A step that fails in a way retrying cannot fix throws NonRetriableError inside `step.run`:
 *   Inngest records the step as failed (red in its UI) at once, and the workflow's handler gets a
 *   StepError, so its catch and clean-up steps still run.
 * - A retriable error is thrown inside the step too; Inngest retries the step with backoff and,
 *   once its retries are spent, the handler gets a StepError.
 * - Either way the error's code travels explicitly, in the name of the thrown error's cause
 *   ("TorporError:NOT_FOUND"): class names are minified in Next's bundle, a StepError keeps only
 *   the name, message, stack and cause of its error, and the SDK's schema for a cause keeps only
 *   name, message, stack and cause (a `code` field there is stripped: seen in the tests). The
 *   adapter turns a StepError back into a TorporError with that code (retriable: false, its
 *   retries are spent), so the workflow's catch decides on codes as on the embedded engine.
 * - LEASE_HELD (another workflow of the session holds the lease: a resume queued behind a
 *   hibernate) is not a failure: the step ends with a "busy" value, the run sleeps until the lease
 *   could expire (step.sleep: no retry spent, no concurrency slot held) and tries again under a
 *   new step id, up to MAX_LEASE_WAITS times; then it is retried as an error (RetryAfterError).
 */
import { NonRetriableError, RetryAfterError } from "inngest";
import { isTorporError, TorporError, type ErrorCode } from "../src/core/errors";
import type { Step } from "../src/workflows/types";

/** The part of Inngest's step tools a workflow uses. */
export interface InngestSteps {
  run(id: string, fn: () => Promise<unknown>): Promise<unknown>;
  sleep(id: string, ms: number): Promise<unknown>;
  sendEvent(id: string, payload: { name: string; data: Record<string, unknown>; id?: string }): Promise<unknown>;
}

/** How the error that carries a TorporError's code through Inngest is named (a string, not a class name). */
export const CODE_CARRIER = "TorporError";
const carrierName = (code: ErrorCode) => `${CODE_CARRIER}:${code}`;
export const MAX_LEASE_WAITS = 30;
const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 60_000;
const BUSY = "torporLeaseBusy";

interface Busy {
  [BUSY]: { waitMs: number; message: string };
}

function isBusy(value: unknown): value is Busy {
  return typeof value === "object" && value !== null && BUSY in value;
}

export function codeCarrier(code: ErrorCode, message: string, cause?: unknown): Error {
  const c = new Error(message, cause === undefined ? undefined : { cause });
  return Object.assign(c, { name: carrierName(code), code });
}

const carrier = (error: TorporError) => codeCarrier(error.code, error.message, error.cause);

/** What a failing step throws, so that Inngest records it as its retriability says. */
export function toStepFailure(error: unknown): unknown {
  if (!isTorporError(error)) return error;
  if (!error.retriable) return new NonRetriableError(error.message, { cause: carrier(error) });
  const retriable = new Error(error.message, { cause: carrier(error) });
  return Object.assign(retriable, { name: "TorporRetriableError" });
}

/** The code a failure carries, found down its cause chain (a StepError's cause, a carrier). */
export function carriedCode(error: unknown): ErrorCode | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && typeof e === "object" && e !== null; depth++) {
    if (isTorporError(e)) return e.code;
    const { name } = e as { name?: unknown };
    if (typeof name === "string" && name.startsWith(`${CODE_CARRIER}:`)) return name.slice(CODE_CARRIER.length + 1) as ErrorCode;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A failed step as the workflow sees it: a TorporError with its code (its retries are spent). */
export function fromStepFailure(error: unknown): unknown {
  if (isTorporError(error)) return error;
  const code = carriedCode(error);
  if (!code) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TorporError(code, message, { retriable: false, cause: error });
}

function leaseWaitMs(error: TorporError, now: number): number {
  const heldBy = error.details.heldBy as { expiresAt?: unknown } | undefined;
  const until = typeof heldBy?.expiresAt === "number" ? heldBy.expiresAt - now : MIN_WAIT_MS;
  return Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, until));
}

export function inngestStep(step: InngestSteps): Step {
  return {
    async run<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
      for (let wait = 0; ; wait++) {
        const stepId = wait === 0 ? id : `${id} (after waiting ${wait})`;
        let out: unknown;
        try {
          out = await step.run(stepId, async () => {
            try {
              return await fn();
            } catch (error) {
              if (isTorporError(error, "LEASE_HELD")) {
                const waitMs = leaseWaitMs(error, Date.now());
                if (wait < MAX_LEASE_WAITS) return { [BUSY]: { waitMs, message: error.message } } satisfies Busy;
                throw new RetryAfterError(error.message, waitMs, { cause: carrier(error) });
              }
              throw toStepFailure(error);
            }
          });
        } catch (error) {
          throw fromStepFailure(error);
        }
        if (!isBusy(out)) return out as T;
        await step.sleep(`Wait for the session's lease: ${id} (${wait + 1})`, out[BUSY].waitMs);
      }
    },
    async sleep(id, ms) {
      await step.sleep(id, ms);
    },
    async sendEvent(id, event) {
      await step.sendEvent(id, { name: event.name, data: event.data, id: event.data.requestId });
    },
  };
}
