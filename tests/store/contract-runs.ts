/**
 * The StateStore contract, runs part: listRuns' filters in every combination the runs page sends
 * (session, workflow, status, a startedAt window), newest first, on both stores. Registered by
 * storeContract.
 */
import { expect, it } from "vitest";
import type { StateStore } from "../../src/store/types";
import { MINUTE, T0 } from "./contract";

export function runsContract(current: () => StateStore): void {
  it("filters runs by session, workflow, status and a startedAt window, newest first", async () => {
    const store = current();
    const mk = (ownerId: string) => store.createSession({ ownerId, provider: "local", template: "base", idleTimeoutMs: MINUTE, now: T0 });
    const [a, b] = [await mk("alice"), await mk("bob")];
    // 12 runs, one a minute: hibernate/resume alternate, sessions a/b alternate in pairs, every third fails.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const run = await store.createRun({
        id: `run_${String(i).padStart(2, "0")}`,
        workflow: i % 2 === 0 ? "hibernate-session" : "resume-session",
        sessionId: Math.floor(i / 2) % 2 === 0 ? a.id : b.id,
        input: {},
        now: T0 + i * MINUTE,
      });
      await store.finishRun(run.id, { status: i % 3 === 0 ? "failed" : "completed", result: null, error: null, now: T0 + i * MINUTE + 1 });
      ids.push(run.id);
    }
    const list = async (filter: Parameters<StateStore["listRuns"]>[0]) => (await store.listRuns({ ...filter, steps: false })).map((r) => r.id);
    const pick = (keep: (i: number) => boolean) => ids.filter((_, i) => keep(i)).reverse();
    const ofA = (i: number) => Math.floor(i / 2) % 2 === 0;

    expect(await list({})).toEqual(pick(() => true));
    expect(await list({ startedAfter: T0 + 3 * MINUTE, startedBefore: T0 + 7 * MINUTE })).toEqual(pick((i) => i >= 3 && i < 7));
    expect(await list({ startedBefore: T0 + 5 * MINUTE, limit: 2 })).toEqual(["run_04", "run_03"]);
    expect(await list({ workflow: "resume-session", startedAfter: T0 + 4 * MINUTE })).toEqual(pick((i) => i % 2 === 1 && i >= 4));
    expect(await list({ status: "failed", startedBefore: T0 + 9 * MINUTE })).toEqual(pick((i) => i % 3 === 0 && i < 9));
    expect(await list({ sessionId: a.id, workflow: "hibernate-session" })).toEqual(pick((i) => ofA(i) && i % 2 === 0));
    expect(await list({ sessionId: b.id, workflow: "resume-session", startedAfter: T0 + 6 * MINUTE })).toEqual(
      pick((i) => !ofA(i) && i % 2 === 1 && i >= 6),
    );
    expect(await list({ sessionId: a.id, status: "failed", startedAfter: T0, startedBefore: T0 + 12 * MINUTE })).toEqual(
      pick((i) => ofA(i) && i % 3 === 0),
    );
    expect(await list({ workflow: "hibernate-session", status: "completed", startedBefore: T0 + 11 * MINUTE })).toEqual(
      pick((i) => i % 2 === 0 && i % 3 !== 0 && i < 11),
    );
    expect(await list({ startedAfter: T0 + 12 * MINUTE })).toEqual([]);
  });
}
