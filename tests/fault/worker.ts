/**
 * The worker entry point (src/runtime/worker.ts, as `dist/worker.mjs` runs it): started on a data
 * dir where a crash interrupted a hibernation, it finishes that run from its journal, and it stops
 * cleanly on SIGTERM.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  startWorkflowRuntime,
  testEnv,
  type WorkflowRuntime,
  waitUntil,
} from "../helpers/runtime";
import { bundle, checkLatestCheckpoint, checkSandbox, counts, runHarness } from "./support";

export function workerScenarios(): void {
  describe("the worker process", () => {
    let rt: WorkflowRuntime;
    beforeAll(async () => {
      rt = await startWorkflowRuntime({ continueRuns: false });
    });
    afterAll(async () => rt.close());

    it("continues a run a crash interrupted, then stops on SIGTERM", async () => {
      const files = sampleFiles("worker");
      const session = await createSessionWithFiles(rt.runtime, files);
      const requested = { name: "torpor/session.hibernate.requested", data: { sessionId: session.id, reason: "idle", requestId: requestId("w") } };
      const crashed = await runHarness({ dataDir: rt.dir, send: [requested], crashAfterSteps: 2 });
      expect(crashed.signal).toBe("SIGKILL");
      counts.injectedFaults += 1;

      const script = await bundle("src/runtime/worker.ts", "worker");
      const worker = spawn(process.execPath, ["--openssl-legacy-provider", script], {
        env: { ...process.env, ...testEnv(rt.dir) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      worker.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      worker.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => worker.on("exit", (code) => resolve(code)));
      try {
        const [run] = await waitUntil(
          "the worker to finish the interrupted run",
          () => rt.runtime.store.listRuns({ sessionId: session.id }),
          (runs) => runs[0]?.status === "completed",
        );
        expect(JSON.parse(run!.result!)).toMatchObject({ status: "paused" });
        expect(output).toMatch(/TORPOR_WORKER_READY/);
      } finally {
        worker.kill("SIGTERM");
      }
      expect(await exited, output.slice(-1000)).toBe(0);
      counts.runs += 1;
      counts.scenarios += 1;
      expect(await rt.runtime.store.getSession(session.id)).toMatchObject({ state: "paused", lease: null });
      expect(await checkSandbox(rt.runtime, session.id, fingerprint(files))).toEqual([]);
      expect(await checkLatestCheckpoint(rt.runtime, session.id, fingerprint(files))).toEqual([]);
    });
  });
}
