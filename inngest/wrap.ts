/**
 * Turns a workflow definition (src/workflows) into an Inngest function.
 *
 * - Step adapter: ./step (failures thrown inside the step, codes carried explicitly, LEASE_HELD
 *   waited out with step.sleep).
 * - Options: the definition's retries; for every session workflow a concurrency limit of 1 on a
 *   key shared by all of them with `scope: "env"`, so no two steps of one session execute at the
 *   same time in any function (Inngest's concurrency counts executing steps, and per function
 *   unless scoped: with the default scope a hibernate and a resume of one session interleaved
 *   freely); idempotency on the request id. Cron workflows get their schedule and a limit of 1.
 * - A step error that reaches the handler's end already went through the step's retries and the
 *   workflow's clean-up steps: it ends the run (NonRetriableError) instead of replaying it. Other
 *   errors (deps that could not be built yet) are left to Inngest's function retries.
 * - onFailure settles a run that ended without its clean-up (./settle); cancelled runs are
 *   settled by ./cancelled.
 * - Each run is also a row in the state store (externalId: Inngest's run id) with its outcome, so
 *   the dashboard lists Inngest runs like embedded ones; their steps are in Inngest's own UI. The
 *   row's id is the run id the workflow sees, so its progress lands on that row.
 */
import { cron, NonRetriableError, StepError, type Inngest } from "inngest";
import type { ConcurrencyOption } from "inngest/types";
import { describeError, isTorporError } from "../src/core/errors";
import type { CronTick, EventName, TorporEvent, WorkflowDefinition } from "../src/workflows/types";
import { torporEvents } from "./client";
import { getWorkflowDeps } from "./deps";
import { findRunByExternalId, settleRun } from "./settle";
import { carriedCode, codeCarrier, inngestStep, type InngestSteps } from "./step";

export { inngestStep } from "./step";

/**
 * One key for every session workflow, evaluated per event: Inngest scopes an "env" key by the
 * environment and the key's value only (not the function), so all functions share one queue
 * per session. The prefix keeps it apart from other apps' keys in the same environment.
 */
export const SESSION_CONCURRENCY: [ConcurrencyOption] = [{ limit: 1, key: '"torpor-session:" + event.data.sessionId', scope: "env" }];

const triggerByName = Object.fromEntries(Object.values(torporEvents).map((t) => [t.name, t])) as Record<
  EventName,
  (typeof torporEvents)[keyof typeof torporEvents]
>;

function sessionIdOf(data: unknown): string | undefined {
  const id = (data as { sessionId?: unknown } | undefined)?.sessionId;
  return typeof id === "string" ? id : undefined;
}

/** The error a run ends with: NonRetriableError, its cause carrying the code when there is one. */
function finalError(message: string, error: unknown): NonRetriableError {
  const code = carriedCode(error);
  const cause = code ? codeCarrier(code, describeError(error)) : error;
  return new NonRetriableError(message, { cause });
}

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
      concurrency: isCron ? { limit: 1 } : def.concurrencyKey ? SESSION_CONCURRENCY : undefined,
      idempotency: def.idempotencyKey ? "event.data.requestId" : undefined,
      // Runs when the run failed for good: a failure past the workflow's own catch (a platform
      // timeout, deps that could not be built) would otherwise strand the session mid-operation.
      onFailure: async ({ event, error, step }) => {
        const deps = await getWorkflowDeps();
        const data = event.data as { run_id: string; event?: { data?: unknown } };
        return step.run("Settle the session", async () =>
          settleRun(deps, await findRunByExternalId(deps, data.run_id, { workflow: def.id, sessionId: sessionIdOf(data.event?.data) }), {
            status: "failed",
            why: describeError(error),
          }),
        );
      },
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
      // so every replay uses the same row.
      const record = await steps.run("Record the run", async () => {
        const row = await deps.store.createRun({
          workflow: def.id,
          sessionId: sessionIdOf(input.data) ?? null,
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
        throw finalError(`${def.name} failed: ${describeError(error)}`, error);
      }
    },
  );
}
