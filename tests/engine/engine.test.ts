/**
 * The embedded engine on a real SQLite store, with small workflows written for the test: step
 * journaling and replay after an interruption, retries with backoff, non-retriable failures,
 * per-session concurrency of 1, idempotency on the request id, cron.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { StorageError, ValidationError } from "../../src/core/errors";
import { waitUntil } from "../helpers/runtime";
import { createEmbeddedEngine, type EmbeddedEngine } from "../../src/engine";
import { openSqliteStore } from "../../src/store";
import type { StateStore } from "../../src/store/types";
import type { CronTick, TorporEvent, WorkflowDefinition, WorkflowDeps } from "../../src/workflows/types";

type Hibernate = Extract<TorporEvent, { name: "torpor/session.hibernate.requested" }>;

let dir: string;
let store: StateStore;
let engines: EmbeddedEngine[];
let log: string[];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "torpor-engine-"));
  store = openSqliteStore({ file: path.join(dir, "state.sqlite") });
  engines = [];
  log = [];
});
afterEach(async () => {
  for (const engine of engines) await engine.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function engineWith(workflows: WorkflowDefinition<any, any>[]): EmbeddedEngine {
  const deps = { config: loadConfig({ TORPOR_DATA_DIR: dir }), store, now: () => Date.now() } as unknown as WorkflowDeps;
  const engine = createEmbeddedEngine({ store, deps, workflows, retry: { baseMs: 1, maxMs: 5 }, onRunFailed: () => {} });
  engines.push(engine);
  return engine;
}

const hibernate = (sessionId: string, requestId: string): Hibernate => ({
  name: "torpor/session.hibernate.requested",
  data: { sessionId, reason: "test", requestId },
});

function workflow(handler: WorkflowDefinition<Hibernate, unknown>["handler"], retries = 3): WorkflowDefinition<Hibernate, unknown> {
  return {
    id: "test-workflow",
    name: "Test",
    trigger: { event: "torpor/session.hibernate.requested" },
    retries,
    concurrencyKey: (e) => e.data.sessionId,
    idempotencyKey: (e) => e.data.requestId,
    handler,
  };
}

describe("embedded engine", () => {
  it("retries a failing step with backoff and journals the attempts", async () => {
    let calls = 0;
    const engine = engineWith([
      workflow(async ({ step }) => {
        const value = await step.run("Flaky step", () => {
          calls += 1;
          if (calls < 3) throw new StorageError("STORAGE_TRANSIENT", `transient failure ${calls}`);
          return { calls };
        });
        return value;
      }),
    ]);
    await engine.start();
    const { ids } = await engine.send(hibernate("s1", "r1"));
    const run = await engine.waitFor(ids[0]!);
    expect(run.status).toBe("completed");
    expect(JSON.parse(run.result!)).toEqual({ calls: 3 });
    expect(run.steps).toMatchObject([{ name: "Flaky step", status: "completed", attempts: 3, output: '{"calls":3}' }]);
  });

  it("ends the run at once on a non-retriable error; the handler's cleanup step runs", async () => {
    let calls = 0;
    const engine = engineWith([
      workflow(async ({ step }) => {
        try {
          await step.run("Broken step", () => {
            calls += 1;
            throw new ValidationError("cannot work on this");
          });
        } catch (error) {
          await step.run("Clean up", () => log.push("cleanup"));
          throw error;
        }
      }),
    ]);
    await engine.start();
    const run = await engine.waitFor((await engine.send(hibernate("s1", "r1"))).ids[0]!);
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/cannot work on this/);
    expect(calls).toBe(1);
    expect(log).toEqual(["cleanup"]);
    expect(run.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ["Broken step", "failed", 1],
      ["Clean up", "completed", 1],
    ]);
  });

  it("gives up after the retry budget", async () => {
    let calls = 0;
    const engine = engineWith([
      workflow(async ({ step }) => step.run("Always fails", () => {
        calls += 1;
        throw new Error("still broken");
      }), 2),
    ]);
    await engine.start();
    const run = await engine.waitFor((await engine.send(hibernate("s1", "r1"))).ids[0]!);
    expect(run.status).toBe("failed");
    expect(calls).toBe(3);
  });

  it("a failed step's error says why each earlier attempt failed", async () => {
    let calls = 0;
    const engine = engineWith([
      workflow(async ({ step }) => step.run("Fails twice over", () => {
        calls += 1;
        if (calls === 1) throw new StorageError("STORAGE_TRANSIENT", "connection reset");
        throw new ValidationError("bad bytes");
      })),
    ]);
    await engine.start();
    const run = await engine.waitFor((await engine.send(hibernate("s1", "r1"))).ids[0]!);
    expect(run.status).toBe("failed");
    expect(calls).toBe(2);
    expect(run.steps).toMatchObject([{ name: "Fails twice over", status: "failed", attempts: 2, error: "bad bytes (earlier: attempt 1: connection reset)" }]);
  });

  it("continues an interrupted run from its last finished step after a restart", async () => {
    const calls: string[] = [];
    const definition = workflow(async ({ step }) => {
      const a = await step.run("First", () => (calls.push("first"), 1));
      const b = await step.run("Second", () => (calls.push("second"), a + 1));
      return { b };
    });
    // A run as a crash leaves it: running, its first step journaled, the second never finished.
    await store.createRun({ id: "run_000000000interrupted", workflow: "test-workflow", sessionId: "s1", input: hibernate("s1", "r1") });
    await store.recordStep("run_000000000interrupted", { name: "First", status: "completed", attempts: 1, startedAt: 1, endedAt: 2, error: null, output: "41" });
    await store.recordStep("run_000000000interrupted", { name: "Second", status: "running", attempts: 1, startedAt: 3, endedAt: null, error: null, output: null });
    const engine = engineWith([definition]);
    expect(await engine.start()).toEqual({ continued: 1 });
    const run = await engine.waitFor("run_000000000interrupted");
    expect(run.status).toBe("completed");
    expect(JSON.parse(run.result!)).toEqual({ b: 42 });
    expect(calls).toEqual(["second"]);
    expect(run.steps.find((s) => s.name === "Second")?.attempts).toBe(2);
  });

  it("leaves a run running when stopped between steps, and a new engine finishes it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const definition = workflow(async ({ step }) => {
      await step.run("Before the stop", async () => {
        calls.push("before");
        await gate;
      });
      await step.run("After the restart", () => calls.push("after"));
      return null;
    });
    const first = engineWith([definition]);
    await first.start();
    const { ids } = await first.send(hibernate("s1", "r1"));
    await waitUntil("the first step to start", () => calls.length, (n) => n === 1);
    const stopped = first.stop();
    release();
    await stopped;
    expect((await store.getRun(ids[0]!))?.status).toBe("running");
    expect(calls).toEqual(["before"]);
    const second = engineWith([definition]);
    await second.start();
    expect((await second.waitFor(ids[0]!)).status).toBe("completed");
    expect(calls).toEqual(["before", "after"]);
  });

  it("runs one workflow per session at a time, in order, and sessions in parallel", async () => {
    const events: string[] = [];
    const gates = new Map<string, () => void>();
    const engine = engineWith([
      workflow(async ({ event, step }) => {
        await step.run("Work", async () => {
          events.push(`start ${event.data.requestId}`);
          await new Promise<void>((resolve) => gates.set(event.data.requestId, resolve));
          events.push(`end ${event.data.requestId}`);
        });
        return null;
      }),
    ]);
    await engine.start();
    await engine.send(hibernate("A", "a1"));
    await engine.send(hibernate("A", "a2"));
    await engine.send(hibernate("B", "b1"));
    await waitUntil("a1 and b1 to start", () => events.length, (n) => n === 2);
    expect(events.sort()).toEqual(["start a1", "start b1"]);
    gates.get("a1")!();
    await waitUntil("a2 to start", () => events.includes("start a2"), Boolean);
    expect(events.indexOf("end a1")).toBeLessThan(events.indexOf("start a2"));
    gates.get("a2")!();
    gates.get("b1")!();
    await engine.idle();
    expect(events.filter((e) => e.startsWith("end")).sort()).toEqual(["end a1", "end a2", "end b1"]);
  });

  it("starts one run per request id", async () => {
    let calls = 0;
    const engine = engineWith([workflow(async ({ step }) => step.run("Count", () => ++calls))]);
    await engine.start();
    const sends = await Promise.all([1, 2, 3].map(() => engine.send(hibernate("s1", "same"))));
    expect(new Set(sends.map((s) => s.ids[0])).size).toBe(1);
    await engine.idle();
    await engine.send(hibernate("s1", "same"));
    await engine.idle();
    expect(calls).toBe(1);
    expect(await store.listRuns({ workflow: "test-workflow" })).toHaveLength(1);
  });

  it("refuses an invalid event", async () => {
    const engine = engineWith([workflow(async () => null)]);
    await expect(engine.send({ name: "torpor/session.hibernate.requested", data: { sessionId: "", reason: "x", requestId: "r" } })).rejects.toThrow(/sessionId/);
  });

  it("fires cron workflows on their schedule", async () => {
    const ticks: number[] = [];
    const cron: WorkflowDefinition<CronTick, null> = {
      id: "every-second",
      name: "Every second",
      trigger: { cron: "* * * * * *" },
      retries: 0,
      async handler({ event, step }) {
        await step.run("Tick", () => ticks.push(event.data.scheduledAt));
        return null;
      },
    };
    const engine = engineWith([cron]);
    await engine.start({ cron: true });
    await waitUntil("two ticks", () => ticks.length, (n) => n >= 2);
    await engine.stop();
    expect(ticks[1]! - ticks[0]!).toBeGreaterThanOrEqual(1000);
    expect(ticks.every((t) => t % 1000 === 0)).toBe(true);
  });
});
