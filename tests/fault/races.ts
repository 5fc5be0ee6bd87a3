/**
 * Hibernate, resume, archive and user activity racing on one session, over many random
 * interleavings (seeded; the seed is printed). The activity actor behaves like the app: it records
 * the activity, asks for a resume when the store says the session sleeps, and edits a file once
 * the sandbox is up. After each round, with every run finished, the invariants must hold:
 * - the session rests (running, paused or archived) with its lease free, and no run failed;
 * - activity during a hibernation wins: the session ends up running;
 * - nothing is lost: every file is in the sandbox (running, paused) or in the latest committed
 *   checkpoint (archived: invariant 1, nothing is killed without a checkpoint newer than the last change).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TorporEvent } from "../../src/workflows/types";
import {
  createSessionWithFiles,
  fingerprint,
  requestId,
  sampleFiles,
  sha256,
  startWorkflowRuntime,
  type WorkflowRuntime,
  waitUntil,
} from "../helpers/runtime";
import { seeded } from "./flaky-objects";
import { checkLatestCheckpoint, checkSandbox, counts } from "./support";

const ROUNDS = 25;
const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function raceScenarios(): void {
  describe("hibernate, resume, archive and activity racing on one session", () => {
    let rt: WorkflowRuntime;
    beforeAll(async () => {
      rt = await startWorkflowRuntime({ retry: { baseMs: 20, maxMs: 500 } });
    });
    afterAll(async () => rt.close());

    it(`keeps the invariants over ${ROUNDS} random interleavings`, async () => {
      const seed = Math.floor(Math.random() * 2 ** 31);
      console.log(`race seed: ${seed}`);
      const random = seeded(seed);
      const { runtime } = rt;
      const engine = runtime.engine!;
      const files = sampleFiles("race", 4);
      const expected = fingerprint(files);
      const session = await createSessionWithFiles(runtime, files);
      const id = session.id;
      const send = (event: TorporEvent) => engine.send(event);

      for (let round = 0; round < ROUNDS; round++) {
        let mustWake = false;
        const activity = async () => {
          const result = await runtime.store.recordActivity(id, { at: Date.now(), kind: "file", coalesceMs: 0 });
          const s = result.session;
          // Activity that finds a hibernation under way (or finished) must end with the session running.
          if (s.state !== "running" || s.lease?.operation === "hibernate") mustWake = true;
          if (result.wake) await send({ name: "torpor/session.resume.requested", data: { sessionId: id, reason: "activity", requestId: requestId("wake") } });
          const up = await waitUntil(
            "a sandbox to write to",
            () => runtime.store.getSession(id),
            (x) => (x.state === "running" || x.state === "hibernating") && x.sandboxId !== null,
            { timeoutMs: 30_000, everyMs: 5 },
          );
          const file = `edits/round-${round}.txt`;
          const content = `round ${round} at ${Date.now()} ${random()}`;
          await runtime.sandboxes.writeFile(up.sandboxId!, file, content);
          await runtime.store.recordChanges(id, [{ path: file, operation: "write", at: Date.now() }]);
          expected[file] = sha256(content);
        };
        const actions: Promise<unknown>[] = [
          later(random() * 40).then(() => send({ name: "torpor/session.hibernate.requested", data: { sessionId: id, reason: "race", requestId: requestId("h") } })),
          later(random() * 200).then(activity),
        ];
        if (random() < 0.4) {
          actions.push(later(random() * 150).then(() => send({ name: "torpor/session.resume.requested", data: { sessionId: id, reason: "race", requestId: requestId("r") } })));
        }
        if (random() < 0.3) {
          actions.push(later(random() * 200).then(() => send({ name: "torpor/session.archive.requested", data: { sessionId: id, reason: "race", requestId: requestId("a") } })));
        }
        await Promise.all(actions);
        await engine.idle();

        const s = await runtime.store.getSession(id);
        expect(s.lease, `round ${round}`).toBeNull();
        expect(["running", "paused", "archived"], `round ${round}: ${s.state}`).toContain(s.state);
        if (mustWake) expect(s.state, `round ${round}: activity during hibernation must win`).toBe("running");
        const lost = s.state === "archived" ? await checkLatestCheckpoint(runtime, id, expected) : await checkSandbox(runtime, id, expected);
        expect(lost, `round ${round} (${s.state})`).toEqual([]);
        counts.scenarios += 1;
        // Start the next round from a running session.
        if (s.state !== "running") {
          const { ids } = await send({ name: "torpor/session.resume.requested", data: { sessionId: id, reason: "next round", requestId: requestId("next") } });
          await engine.waitFor(ids[0]!);
        }
      }
      const runs = await runtime.store.listRuns({ sessionId: id, limit: 10_000 });
      counts.runs += runs.length;
      const outcomes: Record<string, number> = {};
      for (const r of runs) {
        const result = JSON.parse(r.result ?? "{}") as { status?: string; rung?: string };
        const key = `${r.workflow}:${result.status ?? result.rung ?? r.status}`;
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      }
      console.log(`race outcomes: ${JSON.stringify(outcomes)}`);
      const failed = runs.filter((r) => r.status === "failed");
      expect(failed.map((r) => `${r.workflow}: ${r.error}`)).toEqual([]);
      counts.injectedFaults += ROUNDS;
    });
  });
}
