/**
 * Turns a workflow definition (src/workflows) into an Inngest function.
 *
 * - Step adapter: Step.run/sleep/sendEvent over Inngest's step tools (see inngestStep for how
 *   errors that retrying cannot fix travel).
 * - Options: the definition's retries; a concurrency limit of 1 keyed on the session id, and
 *   idempotency on the request id, for every session workflow (their keys are exactly those
 *   fields); cron workflows get their schedule and a limit of 1 on themselves.
 * - A step error that reaches the handler's end already went through the step's retries and the
 *   workflow's clean-up steps: it ends the run (NonRetriableError) instead of replaying it. Other
 *   errors (deps that could not be built yet) are left to Inngest's function retries.
 * - Each run is also a row in the state store (externalId: Inngest's run id) with its outcome, so
 *   the dashboard lists Inngest runs like embedded ones; their steps are in Inngest's own UI. The
 *   row's id is the run id the workflow sees, so its progress lands on that row.
 */
import { cron, NonRetriableError, StepError, type Inngest } from "inngest";
import { describeError, isTorporError, TorporError } from "../src/core/errors";
import type { CronTick, EventName, Step, TorporEvent, WorkflowDefinition } from "../src/workflows/types";
import { torporEvents } from "./client";
import { getWorkflowDeps } from "./deps";

/** The part of Inngest's step tools a workflow uses. */
interface InngestSteps {
  run(id: string, fn: () => Promise<unknown>): Promise<unknown>;
  sleep(id: string, ms: number): Promise<unknown>;
  sendEvent(id: string, payload: { name: string; data: Record<string, unknown>; id?: string }): Promise<unknown>;
}

type StepOutcome = { ok: true; value?: unknown } | { ok: false; error: ReturnType<TorporError["toJSON"]> };

/**
 * A step whose error retrying cannot fix returns the error as its (memoized) value and the adapter
 * throws it right after: the workflow's catch and clean-up steps run in the same execution, on
 * Inngest and under @inngest/test alike. Retriable errors are thrown inside the step, so Inngest
 * retries the step with backoff; once its retries are spent the handler gets a StepError.
 */
export function inngestStep(step: InngestSteps): Step {
  return {
    async run<T>(id: string, fn: () => Promise<T> | T): Promise<T> {
      const outcome = (await step.run(id, async (): Promise<StepOutcome> => {
        try {
          return { ok: true, value: await fn() };
        } catch (error) {
          if (isTorporError(error) && !error.retriable) return { ok: false, error: error.toJSON() };
          throw error;
        }
      })) as StepOutcome;
      if (!outcome.ok) {
        const { code, message, details } = outcome.error;
        throw new TorporError(code, message, { details, retriable: false });
      }
      return outcome.value as T;
    },
    async sleep(id, ms) {
      await step.sleep(id, ms);
    },
    async sendEvent(id, event) {
      await step.sendEvent(id, { name: event.name, data: event.data, id: event.data.requestId });
    },
  };
}

const triggerByName = Object.fromEntries(Object.values(torporEvents).map((t) => [t.name, t])) as Record<
  EventName,
  (typeof torporEvents)[keyof typeof torporEvents]
>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function workflowFunction(client: Inngest, def: WorkflowDefinition<any, any>) {
  const isCron = "cron" in def.trigger;
  const triggers = "cron" in def.trigger ? [cron(def.trigger.cron)] : [triggerByName[def.trigger.event]];
  return client.createFunction(
    {
      id: def.id,
      name: def.name,
      triggers,
      // Inngest types retries as the literals 0…20.
      retries: Math.min(def.retries, 20) as 0,
      concurrency: isCron ? { limit: 1 } : def.concurrencyKey ? { limit: 1, key: "event.data.sessionId" } : undefined,
      idempotency: def.idempotencyKey ? "event.data.requestId" : undefined,
    },
    async ({ event, step, runId }) => {
      const deps = await getWorkflowDeps();
      const scheduledAt = Math.floor((event.ts ?? Date.now()) / 1000) * 1000;
      const input: TorporEvent | CronTick = isCron
        ? { name: "torpor/cron.tick", data: { workflow: def.id, scheduledAt } }
        : ({ name: event.name, data: event.data } as unknown as TorporEvent);
      const steps = inngestStep(step as unknown as InngestSteps);
      // A run row for the dashboard, linked to Inngest's run. The workflow's run id (its lease
      // holder, and where its progress and sandbox tags point) is that row's id, as on the embedded
      // engine: progress written by the steps then lands on the row the dashboard shows. Memoized,
      // so every replay uses the same row. Runs recorded before this returned Inngest's run id as
      // the holder; replays of those keep it (their progress writes then find no row: logged only).
      const record = await steps.run("Record the run", async () => {
        const data = input.data as { sessionId?: unknown };
        const row = await deps.store.createRun({
          workflow: def.id,
          sessionId: typeof data.sessionId === "string" ? data.sessionId : null,
          input,
          externalId: runId,
        });
        return { id: row.id, holder: row.id };
      });
      try {
        const result: unknown = await def.handler({ event: input, step: steps, runId: record.holder, deps });
        await steps.run("Record the outcome", () =>
          deps.store.finishRun(record.id, { status: "completed", result: result ?? null }).then(() => null),
        );
        return result;
      } catch (error) {
        if (!(error instanceof NonRetriableError || error instanceof StepError || (isTorporError(error) && !error.retriable))) {
          throw error;
        }
        await steps.run("Record the failure", () =>
          deps.store.finishRun(record.id, { status: "failed", error: describeError(error) }).then(() => null),
        );
        if (error instanceof NonRetriableError) throw error;
        throw new NonRetriableError(`${def.name} failed: ${describeError(error)}`, { cause: error });
      }
    },
  );
}
