/**
 * Crashes inside steps: the worker process is killed inside a step, after its effect committed
 * (a store transition, a sandbox created or killed) and before the journal recorded the step, for
 * every step with an effect of every lifecycle workflow; then a fresh worker continues the run.
 *
 * The steps are not listed by hand: a clean run of each workflow in the harness reports which
 * steps made store writes or sandbox calls (its `effects`), so a new transition step is covered
 * the day it is written. Three crashes per step: right after its first effect, right before its
 * journal record (every effect done), and that twice (the replay crashes at the same point); a
 * step with one effect gets the last two (its first effect is its last). That full matrix (about
 * 85 crashes, 7 minutes here) runs with TORPOR_TEST_DEEP=1 (`npm run test:deep`); the default run
 * crashes each step once, the crash kinds taken in turn across the steps so that every kind is
 * exercised on every workflow with two or more steps. The
 * continued run must complete with the lease free, the session in the workflow's resting state,
 * its files where they belong, the after-resume hooks run in order, and no sandbox leaked: every
 * live sandbox of the provider is the sandbox of a session row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Session, SessionState } from "../../src/core/types";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  startWorkflowRuntime,
  type FileSet,
  type WorkflowRuntime,
} from "../helpers/runtime";
import { checkLatestCheckpoint, checkSandbox, runHarness } from "./support";

const ENV = { TORPOR_SMALL_FILE_BYTES: "0" };
const HOOKS = { afterResume: ["echo one >> .hooks.log", "echo two >> .hooks.log"] };
type Crash = "after its first effect" | "before its journal record" | "before its journal record, twice";
const CRASHES: Crash[] = ["after its first effect", "before its journal record", "before its journal record, twice"];
const DEEP = process.env.TORPOR_TEST_DEEP === "1";

interface Scenario {
  workflow: string;
  /** A session ready for the workflow, and the event that starts it. */
  setup(rt: WorkflowRuntime, tag: string): Promise<{ session: Session; files: FileSet; event: TorporEvent }>;
  state: SessionState;
  sandbox: "same" | "new" | "none";
  hooks?: boolean;
}

const send = (name: TorporEvent["name"], sessionId: string, extra: Record<string, unknown> = {}) =>
  ({ name, data: { sessionId, reason: "fault", requestId: requestId(name.split(".")[1]), ...extra } }) as TorporEvent;

async function completes(rt: WorkflowRuntime, event: TorporEvent): Promise<void> {
  const engine = rt.runtime.engine!;
  const run = await engine.waitFor((await engine.send(event)).ids[0]!);
  expect(run.status, `${run.workflow}: ${run.error}`).toBe("completed");
}

async function running(rt: WorkflowRuntime, tag: string) {
  const files = sampleFiles(tag, 3);
  return { files, session: await createSessionWithFiles(rt.runtime, files, { hooks: HOOKS }) };
}
async function paused(rt: WorkflowRuntime, tag: string) {
  const made = await running(rt, tag);
  await completes(rt, send("torpor/session.hibernate.requested", made.session.id));
  return made;
}
async function archived(rt: WorkflowRuntime, tag: string) {
  const made = await paused(rt, tag);
  await completes(rt, send("torpor/session.archive.requested", made.session.id));
  return made;
}

const SCENARIOS: Scenario[] = [
  {
    workflow: "hibernate",
    setup: async (rt, tag) => {
      const made = await running(rt, tag);
      return { ...made, event: send("torpor/session.hibernate.requested", made.session.id) };
    },
    state: "paused",
    sandbox: "same",
  },
  {
    workflow: "archive",
    setup: async (rt, tag) => {
      const made = await paused(rt, tag);
      return { ...made, event: send("torpor/session.archive.requested", made.session.id) };
    },
    state: "archived",
    sandbox: "none",
  },
  {
    workflow: "resume (connected)",
    setup: async (rt, tag) => {
      const made = await paused(rt, tag);
      return { ...made, event: send("torpor/session.resume.requested", made.session.id) };
    },
    state: "running",
    sandbox: "same",
    hooks: true,
  },
  {
    workflow: "resume (paused sandbox lost: fallback)",
    setup: async (rt, tag) => {
      const made = await paused(rt, tag);
      await rt.runtime.sandboxes.kill(made.session.sandboxId!);
      return { ...made, event: send("torpor/session.resume.requested", made.session.id) };
    },
    state: "running",
    sandbox: "new",
    hooks: true,
  },
  {
    workflow: "resume (archived)",
    setup: async (rt, tag) => {
      const made = await archived(rt, tag);
      return { ...made, event: send("torpor/session.resume.requested", made.session.id) };
    },
    state: "running",
    sandbox: "new",
    hooks: true,
  },
  {
    workflow: "restore to a checkpoint",
    setup: async (rt, tag) => {
      const made = await running(rt, tag);
      await completes(rt, send("torpor/session.snapshot.requested", made.session.id, { label: null }));
      const { latestCheckpointId } = await rt.runtime.store.getSession(made.session.id);
      return { ...made, event: send("torpor/session.restore.requested", made.session.id, { checkpointId: latestCheckpointId }) };
    },
    state: "running",
    sandbox: "new",
    hooks: true,
  },
  {
    workflow: "snapshot",
    setup: async (rt, tag) => {
      const made = await running(rt, tag);
      return { ...made, event: send("torpor/session.snapshot.requested", made.session.id, { label: "fault" }) };
    },
    state: "running",
    sandbox: "same",
  },
  {
    workflow: "delete",
    setup: async (rt, tag) => {
      const made = await running(rt, tag);
      return { ...made, event: send("torpor/session.delete.requested", made.session.id) };
    },
    state: "deleted",
    sandbox: "none",
  },
];

describe("worker killed inside each transition step, after its effect and before its journal record", () => {
  let rt: WorkflowRuntime;
  const totals = { steps: 0, crashes: 0, stuck: [] as string[], leaked: [] as string[] };
  beforeAll(async () => {
    // The test's own runtime sets up and inspects; only the harness processes continue runs.
    rt = await startWorkflowRuntime({ env: ENV, continueRuns: false });
  });
  afterAll(async () => {
    const line = `crash inside steps: ${totals.steps} steps, ${DEEP ? "every crash kind" : "one crash kind each (TORPOR_TEST_DEEP=1: all)"}, ${totals.stuck.length} stuck, ${totals.leaked.length} leaked (${totals.crashes} kills)`;
    console.log(`\n${"=".repeat(line.length)}\n${line}\n${"=".repeat(line.length)}`);
    await rt.close();
  });

  /** Live sandboxes of the provider that no session row points at. */
  async function leakedSandboxes(): Promise<string[]> {
    const live = await rt.runtime.sandboxes.findSandboxes!({});
    const sessions = await rt.runtime.store.listSessions({ limit: 10_000 });
    const owned = new Set(sessions.filter((s) => s.state !== "deleted").map((s) => s.sandboxId));
    return live.filter((s) => !owned.has(s.id)).map((s) => s.id);
  }

  /** One crash of one step; returns what is wrong afterwards (empty: the run completed cleanly). */
  async function crashInside(scenario: Scenario, stepName: string, crash: Crash): Promise<string[]> {
    const { session, files, event } = await scenario.setup(rt, `${scenario.workflow}-${stepName}-${crash}`);
    const at = crash === "after its first effect" ? "effect" : "journal";
    const first = await runHarness({ dataDir: rt.dir, env: ENV, send: [event], crashInStep: { step: stepName, at } });
    if (first.signal !== "SIGKILL") return [`not killed (the step did not run?): exit ${first.code} ${first.stderr.slice(-300)}`];
    totals.crashes += 1;
    if (crash.endsWith("twice")) {
      const again = await runHarness({ dataDir: rt.dir, env: ENV, crashInStep: { step: stepName, at } });
      if (again.signal !== "SIGKILL") return [`the replay was not killed at the same point: exit ${again.code}`];
      totals.crashes += 1;
    }
    const continued = await runHarness({ dataDir: rt.dir, env: ENV });
    const problems: string[] = [];
    if (continued.code !== 0) problems.push(`the continuing worker exited ${continued.code}: ${continued.stderr.slice(-300)}`);
    const runs = await rt.runtime.store.listRuns({ sessionId: session.id, limit: 100 });
    const run = runs.find((r) => JSON.parse(r.input).data.requestId === event.data.requestId);
    if (run?.status !== "completed") problems.push(`run ${run?.status ?? "missing"}: ${run?.error ?? ""}`);
    const s = await rt.runtime.store.getSession(session.id);
    if (s.state !== scenario.state) problems.push(`session ${s.state}, expected ${scenario.state} (${s.lastError ?? ""})`);
    if (s.lease !== null) problems.push(`lease still held by ${s.lease.operation}`);
    if (scenario.sandbox === "same" && s.sandboxId !== session.sandboxId) problems.push(`sandbox ${s.sandboxId}, expected ${session.sandboxId}`);
    if (scenario.sandbox === "new" && (s.sandboxId === null || s.sandboxId === session.sandboxId)) problems.push(`no new sandbox: ${s.sandboxId}`);
    if (scenario.sandbox === "none" && s.sandboxId !== null) problems.push(`sandbox ${s.sandboxId} kept`);
    const expected = fingerprint(files);
    const lost = s.sandboxId ? await checkSandbox(rt.runtime, s.id, expected) : await checkLatestCheckpoint(rt.runtime, s.id, expected);
    if (lost.length > 0) problems.push(`files lost: ${lost.join(", ")}`);
    if (scenario.hooks && s.sandboxId) {
      const log = (await rt.runtime.sandboxes.readFile(s.sandboxId, ".hooks.log").catch(() => Buffer.from(""))).toString();
      if (log !== "one\ntwo\n") problems.push(`after-resume hooks log ${JSON.stringify(log)}, expected "one\\ntwo\\n"`);
    }
    // Only this crash's leaks: an earlier scenario's are counted already.
    const leaked = (await leakedSandboxes()).filter((id) => !totals.leaked.includes(id));
    totals.leaked.push(...leaked);
    if (leaked.length > 0) problems.push(`leaked sandboxes: ${leaked.join(", ")}`);
    return problems;
  }

  it.each(SCENARIOS.map((s) => [s.workflow, s] as const))("%s: every step with an effect, crashed three ways", async (_name, scenario) => {
    // A clean run lists the steps that change something.
    const probe = await scenario.setup(rt, `${scenario.workflow}-probe`);
    const clean = await runHarness({ dataDir: rt.dir, env: ENV, send: [probe.event] });
    expect(clean.code, clean.stderr.slice(-500)).toBe(0);
    const steps = Object.keys(clean.output!.effects ?? {});
    expect(steps.length, "steps with effects").toBeGreaterThan(0);
    console.log(`${scenario.workflow}: ${steps.length} transition steps: ${steps.map((s) => `${s} [${clean.output!.effects![s]!.join(", ")}]`).join("; ")}`);
    totals.steps += steps.length;
    const failures: string[] = [];
    for (const [index, stepName] of steps.entries()) {
      // With one effect, "after its first effect" is the same point as "before its journal record".
      const applicable = clean.output!.effects![stepName]!.length > 1 ? CRASHES : CRASHES.slice(1);
      const crashes = DEEP ? applicable : [applicable[index % applicable.length]!];
      for (const crash of crashes) {
        const problems = await crashInside(scenario, stepName, crash);
        if (problems.length > 0) {
          failures.push(`'${stepName}' (${crash}): ${problems.join("; ")}`);
          totals.stuck.push(`${scenario.workflow}: ${stepName}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
