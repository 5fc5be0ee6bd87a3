/**
 * The embedded workflow engine: the same workflow definitions as Inngest, run in-process. A
 * single-machine stand-in for Inngest, not a second product.
 *
 * - Runs are rows in the state store (workflow, input event, steps with their JSON output), which
 *   is the journal: on start, runs still "running" or "queued" are continued, and each replays its
 *   finished steps from the journal and goes on from the first unfinished one.
 * - Idempotency: a run's id is derived from the workflow and the event's idempotency key (the
 *   request id), so a second event with the same request id finds the run and starts nothing.
 * - Concurrency: runs with the same concurrency key (the session) run one after another, in order.
 * - Retries: per step, with exponential backoff (./journal). Cron: croner, one run per tick.
 * One engine per state store: two processes continuing the same runs would race.
 */
import { createHash } from "node:crypto";
import { Cron } from "croner";
import { describeError, NotFoundError } from "../core/errors";
import { newId } from "../core/ids";
import type { RunRecord } from "../core/types";
import type { StateStore } from "../store/types";
import { parseEvent, type CronTick, type TorporEvent } from "../core/events";
import type { WorkflowDefinition, WorkflowDispatcher } from "./types";
import { createJournaledStep, EngineStoppedError } from "./journal";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyWorkflow<D> = WorkflowDefinition<any, any, D>;
type EngineEvent = TorporEvent | CronTick;

export interface EmbeddedEngineOptions<D> {
  store: StateStore;
  /** What every workflow handler receives as `deps`. */
  deps: D;
  workflows: AnyWorkflow<D>[];
  /** Step retry backoff: base · 2^(attempt-1), capped at max. Default 500 ms, 30 s. */
  retry?: { baseMs?: number; maxMs?: number };
  now?: () => number;
  /** Where failures of runs are reported (default: console.error). */
  onRunFailed?: (run: { id: string; workflow: string; error: string }) => void;
}

export interface EmbeddedEngine extends WorkflowDispatcher {
  readonly kind: "embedded";
  /**
   * Continues interrupted runs (unless continueRuns is false: a process that only inspects the
   * state while another one runs the engine) and, when asked, starts the cron schedules.
   */
  start(options?: { cron?: boolean; continueRuns?: boolean }): Promise<{ continued: number }>;
  /** Stops cron and new steps; in-flight runs stop at their next step and continue on restart. */
  stop(): Promise<void>;
  /** Starts one run of a cron workflow now (the CLI's "sweep now", tests). Returns the run id. */
  tick(workflowId: string, scheduledAt?: number): Promise<string>;
  /** Waits for a run started by this engine to end, and returns its record. */
  waitFor(runId: string): Promise<RunRecord>;
  /** Resolves when no run is running or queued in this engine (runs started meanwhile included). */
  idle(): Promise<void>;
}

export function createEmbeddedEngine<D>(options: EmbeddedEngineOptions<D>): EmbeddedEngine {
  const { store, deps, workflows } = options;
  const now = options.now ?? (() => Date.now());
  const retry = { baseMs: options.retry?.baseMs ?? 500, maxMs: options.retry?.maxMs ?? 30_000 };
  const report = options.onRunFailed ?? ((run) => console.error(`[torpor] run ${run.id} (${run.workflow}) failed: ${run.error}`));
  const byId = new Map(workflows.map((w) => [w.id, w]));
  const inflight = new Map<string, Promise<void>>();
  const tails = new Map<string, Promise<void>>();
  const creating = new Set<string>();
  const sleepers = new Set<() => void>();
  const crons: Cron[] = [];
  let stopping = false;

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  const cronKey = (scheduledAt: number) => `tick-${scheduledAt}`;
  const idempotencyKey = (def: AnyWorkflow<D>, event: EngineEvent) =>
    "cron" in def.trigger ? cronKey((event as CronTick).data.scheduledAt) : def.idempotencyKey?.(event);
  const concurrencyKey = (def: AnyWorkflow<D>, event: EngineEvent) =>
    "cron" in def.trigger ? def.id : def.concurrencyKey?.(event);

  function runIdFor(def: AnyWorkflow<D>, key: string | undefined): string {
    if (key === undefined) return newId("run", now());
    return `run_${createHash("sha256").update(`${def.id}\0${key}`).digest("hex").slice(0, 32)}`;
  }

  async function execute(def: AnyWorkflow<D>, runId: string, event: EngineEvent): Promise<void> {
    if (stopping) return;
    const run = await store.getRun(runId);
    if (!run || (run.status !== "running" && run.status !== "queued")) return;
    if (run.status === "queued") await store.setRunStatus(runId, "running", now());
    const step = createJournaledStep({
      store,
      runId,
      steps: run.steps,
      retry: { retries: def.retries, ...retry },
      now,
      send: (e) => engine.send(e),
      isStopping: () => stopping,
      delay,
    });
    try {
      const result = await def.handler({ event, step, runId, deps });
      await store.finishRun(runId, { status: "completed", result: result ?? null, now: now() });
    } catch (error) {
      // A stopping engine leaves the run "running": it continues from its journal on restart.
      if (error instanceof EngineStoppedError || stopping) return;
      const message = describeError(error);
      await store.finishRun(runId, { status: "failed", error: message, now: now() });
      report({ id: runId, workflow: def.id, error: message });
    }
  }

  function schedule(def: AnyWorkflow<D>, runId: string, event: EngineEvent): void {
    const key = concurrencyKey(def, event);
    const previous = (key !== undefined && tails.get(key)) || Promise.resolve();
    // Waiting behind another run of the same session: "queued" until its turn (dashboard).
    if (key !== undefined && tails.has(key)) void store.setRunStatus(runId, "queued", now()).catch(() => {});
    const done = previous
      .then(() => execute(def, runId, event))
      .catch((error: unknown) => report({ id: runId, workflow: def.id, error: describeError(error) }));
    inflight.set(runId, done);
    if (key !== undefined) tails.set(key, done);
    void done.finally(() => {
      if (inflight.get(runId) === done) inflight.delete(runId);
      if (key !== undefined && tails.get(key) === done) tails.delete(key);
    });
  }

  async function enqueue(def: AnyWorkflow<D>, event: EngineEvent): Promise<string> {
    const key = idempotencyKey(def, event);
    const runId = runIdFor(def, key);
    // Checked and marked before any await: two sends of one request id in this process start one run.
    if (key !== undefined && (inflight.has(runId) || creating.has(runId))) return runId;
    creating.add(runId);
    try {
      if (key !== undefined && (await store.getRun(runId))) return runId;
      const data = event.data as { sessionId?: unknown };
      try {
        await store.createRun({
          id: runId,
          workflow: def.id,
          sessionId: typeof data.sessionId === "string" ? data.sessionId : null,
          input: event,
          now: now(),
        });
      } catch (error) {
        // Another process sent the same request id first and created the run.
        if (key !== undefined && (await store.getRun(runId))) return runId;
        throw error;
      }
      schedule(def, runId, event);
      return runId;
    } finally {
      creating.delete(runId);
    }
  }

  const engine: EmbeddedEngine = {
    kind: "embedded",
    async send(event) {
      const parsed = parseEvent(event);
      const ids: string[] = [];
      for (const def of workflows) {
        if ("event" in def.trigger && def.trigger.event === parsed.name) ids.push(await enqueue(def, parsed));
      }
      return { ids };
    },
    async start(startOptions = {}) {
      stopping = false;
      const runs =
        startOptions.continueRuns === false
          ? []
          : [
              ...(await store.listRuns({ status: "running", limit: 10_000 })),
              ...(await store.listRuns({ status: "queued", limit: 10_000 })),
            ].sort((a, b) => a.startedAt - b.startedAt);
      for (const run of runs) {
        if (run.externalId !== null) continue; // Inngest's run, recorded for the dashboard
        const def = byId.get(run.workflow);
        if (!def) {
          await store.finishRun(run.id, { status: "failed", error: `Unknown workflow '${run.workflow}'`, now: now() });
          continue;
        }
        if (!inflight.has(run.id)) schedule(def, run.id, JSON.parse(run.input) as EngineEvent);
      }
      if (startOptions.cron) {
        for (const def of workflows) {
          if (!("cron" in def.trigger)) continue;
          const job = new Cron(def.trigger.cron, { protect: true }, async (self: Cron) => {
            const at = (self.currentRun() ?? new Date(now())).getTime();
            await engine.tick(def.id, Math.floor(at / 1000) * 1000).catch((error: unknown) =>
              report({ id: "cron", workflow: def.id, error: describeError(error) }),
            );
          });
          crons.push(job);
        }
      }
      return { continued: runs.length };
    },
    async stop() {
      stopping = true;
      for (const job of crons.splice(0)) job.stop();
      for (const wake of [...sleepers]) wake();
      await Promise.allSettled([...inflight.values()]);
    },
    async tick(workflowId, scheduledAt = now()) {
      const def = byId.get(workflowId);
      if (!def || !("cron" in def.trigger)) throw new NotFoundError(`No cron workflow '${workflowId}'`);
      return enqueue(def, { name: "torpor/cron.tick", data: { workflow: workflowId, scheduledAt } });
    },
    async waitFor(runId) {
      await inflight.get(runId);
      const run = await store.getRun(runId);
      if (!run) throw new NotFoundError(`No run '${runId}'`);
      return run;
    },
    async idle() {
      while (inflight.size > 0) await Promise.allSettled([...inflight.values()]);
    },
  };
  return engine;
}
