// A new session takes the deployment's retention policy (issue 14: TORPOR_RETAIN_LAST and
// TORPOR_RETAIN_DAILY_DAYS were ignored; the stores' fallback of 10 and 7 always applied).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession } from "../../src/server/create";
import { startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

let wf: WorkflowRuntime;
beforeAll(async () => {
  wf = await startWorkflowRuntime({ env: { TORPOR_RETAIN_LAST: "3", TORPOR_RETAIN_DAILY_DAYS: "2" } });
});
afterAll(() => wf.close());

describe("createSession", () => {
  it("records the configured retention policy on the session", async () => {
    const { config, store, sandboxes, dispatcher } = wf.runtime;
    const session = await createSession({ config, store, sandboxes, dispatcher }, { ownerId: "u1", template: "base", idleTimeoutMs: 60_000, now: Date.now() });
    expect(session.retention).toMatchObject({ keepLast: 3, keepDailyDays: 2 });
    expect((await store.getSession(session.id)).retention).toMatchObject({ keepLast: 3, keepDailyDays: 2 });
  });

  it("records the activity policy and flush interval given, else the defaults", async () => {
    const { config, store, sandboxes, dispatcher } = wf.runtime;
    const deps = { config, store, sandboxes, dispatcher };
    const plain = await createSession(deps, { ownerId: "u1", template: "base", idleTimeoutMs: 60_000, now: Date.now() });
    expect(await store.getSession(plain.id)).toMatchObject({ activity: "api+files", flushIntervalMs: null });
    const own = await createSession(deps, { ownerId: "u1", template: "base", idleTimeoutMs: 60_000, activity: "api", flushIntervalMs: 0, now: Date.now() });
    expect(await store.getSession(own.id)).toMatchObject({ activity: "api", flushIntervalMs: 0 });
  });
});
