/**
 * Crash scenarios: the worker process is killed (SIGKILL) right after each step of hibernate and of
 * a resume that restores into a new sandbox, and at random points inside the checkpoint upload;
 * then a fresh worker continues. Each scenario then checks: the run finished, the session is in
 * the state the workflow promises (paused / running, lease free), its sandbox holds every file,
 * and a restore of the latest committed checkpoint reproduces every file.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  startWorkflowRuntime,
  type WorkflowRuntime,
} from "../helpers/runtime";
import { checkLatestCheckpoint, checkSandbox, counts, runHarness } from "./support";

/** Small-file packing off: every file is its own upload, so there are many points to crash at. */
const ENV = { TORPOR_SMALL_FILE_BYTES: "0" };
const HIBERNATE_STEPS = 7;
const RESTORE_STEPS = 9;

async function crashThenContinue(rt: WorkflowRuntime, send: TorporEvent, crash: Record<string, number>) {
  const crashed = await runHarness({ dataDir: rt.dir, env: ENV, send: [send], ...crash });
  expect(crashed.signal, `the worker should have been killed: ${crashed.stderr.slice(-500)}`).toBe("SIGKILL");
  counts.injectedFaults += 1;
  const continued = await runHarness({ dataDir: rt.dir, env: ENV });
  expect(continued.code, continued.stderr.slice(-500)).toBe(0);
  const runs = await rt.runtime.store.listRuns({ sessionId: send.data.sessionId });
  const run = runs.find((r) => JSON.parse(r.input).data.requestId === send.data.requestId);
  expect(run?.status, run?.error ?? "").toBe("completed");
  counts.runs += 1;
  counts.scenarios += 1;
  return run!;
}

export function crashScenarios(): void {
  describe("worker killed at each step boundary and inside uploads", () => {
    let rt: WorkflowRuntime;
    beforeAll(async () => {
      // The test's own runtime only inspects and sets up: it never continues the worker's runs.
      rt = await startWorkflowRuntime({ env: ENV, continueRuns: false });
    });
    afterAll(async () => rt.close());

    it.each(Array.from({ length: HIBERNATE_STEPS }, (_, i) => i + 1))("hibernate: killed after step %i", async (k) => {
      const files = sampleFiles(`hib-${k}`);
      const session = await createSessionWithFiles(rt.runtime, files);
      const send: TorporEvent = { name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "fault", requestId: requestId("hib") } };
      await crashThenContinue(rt, send, { crashAfterSteps: k });
      const s = await rt.runtime.store.getSession(session.id);
      expect(s).toMatchObject({ state: "paused", lease: null });
      expect(await checkSandbox(rt.runtime, session.id, fingerprint(files))).toEqual([]);
      expect(await checkLatestCheckpoint(rt.runtime, session.id, fingerprint(files))).toEqual([]);
    });

    it.each(Array.from({ length: RESTORE_STEPS }, (_, i) => i + 1))("restore after a lost sandbox: killed after step %i", async (k) => {
      const files = sampleFiles(`res-${k}`);
      const session = await createSessionWithFiles(rt.runtime, files);
      const engine = rt.runtime.engine!;
      const hib = await engine.send({ name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "setup", requestId: requestId("setup") } });
      expect((await engine.waitFor(hib.ids[0]!)).status).toBe("completed");
      await rt.runtime.sandboxes.kill(session.sandboxId!); // the provider loses the paused sandbox
      const send: TorporEvent = { name: "torpor/session.resume.requested", data: { sessionId: session.id, reason: "fault", requestId: requestId("res") } };
      const run = await crashThenContinue(rt, send, { crashAfterSteps: k });
      expect(JSON.parse(run.result!)).toMatchObject({ rung: "restored" });
      const s = await rt.runtime.store.getSession(session.id);
      expect(s).toMatchObject({ state: "running", lease: null });
      expect(s.sandboxId).not.toBe(session.sandboxId);
      expect(await checkSandbox(rt.runtime, session.id, fingerprint(files))).toEqual([]);
      expect(await checkLatestCheckpoint(rt.runtime, session.id, fingerprint(files))).toEqual([]);
    });

    // Put numbers and delays are drawn once per run of the suite; the checks hold for any of them.
    const uploads = [0, 0, 3, 8].map((delayMs) => ({ atPut: 1 + Math.floor(Math.random() * 10), delayMs }));
    it.each(uploads)("hibernate: killed inside the checkpoint upload (put $atPut, +$delayMs ms)", async ({ atPut, delayMs }) => {
      // A large file too, so that a delayed kill lands inside a transfer, not between two.
      const files = { ...sampleFiles(`up-${atPut}-${delayMs}-${Math.random()}`, 10), "big.bin": randomBytes(1_500_000) };
      const session = await createSessionWithFiles(rt.runtime, files);
      const send: TorporEvent = { name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "fault", requestId: requestId("up") } };
      await crashThenContinue(rt, send, { crashAtPut: atPut, crashDelayMs: delayMs });
      expect(await rt.runtime.store.getSession(session.id)).toMatchObject({ state: "paused", lease: null });
      expect(await checkSandbox(rt.runtime, session.id, fingerprint(files))).toEqual([]);
      expect(await checkLatestCheckpoint(rt.runtime, session.id, fingerprint(files))).toEqual([]);
    });
  });
}
