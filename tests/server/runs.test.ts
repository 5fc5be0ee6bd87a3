/** runs.list: a session's workflow runs with steps and a running step's progress; Inngest run links only when Inngest runs them. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { inngestRunUrl } from "../../src/server/routers/runs";
import { alice, startTestRuntime, waitFor, type TestRuntime } from "../helpers/app";

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(async () => t?.close());

describe("runs.list", () => {
  it("shows the hibernate run with its steps, newest first", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    await api.sessions.hibernateNow({ sessionId: id });
    const runs = await waitFor(
      "a completed hibernate run",
      () => api.runs.list({ sessionId: id }),
      (list) => list.some((r) => r.workflow === "hibernate-session" && r.status === "completed"),
    );
    const run = runs.find((r) => r.workflow === "hibernate-session")!;
    expect(run.sessionId).toBe(id);
    expect(run.steps.length).toBeGreaterThan(1);
    expect(run.steps.every((s) => s.status === "completed")).toBe(true);
    expect(run.inngestUrl).toBeNull();
    expect(JSON.parse(run.input)).toMatchObject({ data: { sessionId: id } });
    const starts = runs.map((r) => r.startedAt);
    expect(starts).toEqual([...starts].sort((a, b) => b - a));
    // A finished run has no progress left on it.
    expect(run.progress).toBeNull();
  });

  it("carries a running step's progress", async () => {
    const api = t.caller(alice);
    const { id } = await api.sessions.create({});
    // A run row as a workflow in the middle of its checkpoint step leaves it (the workflows' own
    // progress writes are tested in tests/workflows/progress.test.ts).
    const row = await t.runtime.store.createRun({ workflow: "snapshot-session", sessionId: id, input: { data: { sessionId: id } } });
    const progress = {
      step: "Flush pending changes and take a checkpoint", phase: "upload",
      filesDone: 12_000, filesTotal: 22_285, bytesDone: 210e6, bytesTotal: 430e6, updatedAt: Date.now(),
    };
    await t.runtime.store.setRunProgress(row.id, progress);
    const listed = (await api.runs.list({ sessionId: id })).find((r) => r.id === row.id);
    expect(listed).toMatchObject({ status: "running", progress });
    await t.runtime.store.setRunProgress(row.id, null);
    expect((await api.runs.list({ sessionId: id })).find((r) => r.id === row.id)?.progress).toBeNull();
  });
});

describe("inngestRunUrl", () => {
  it("links to Inngest Cloud, the dev server, or the configured dashboard", () => {
    const cloud = loadConfig({ INNGEST_EVENT_KEY: "e", INNGEST_SIGNING_KEY: "s" });
    expect(inngestRunUrl(cloud, { externalId: "01H/x" })).toBe("https://app.inngest.com/env/production/runs/01H%2Fx");
    const dev = loadConfig({ INNGEST_DEV: "1" });
    expect(inngestRunUrl(dev, { externalId: "r1" })).toBe("http://localhost:8288/runs/r1");
    const custom = loadConfig({ INNGEST_DEV: "1", TORPOR_INNGEST_DASHBOARD_URL: "https://inngest.example.com/env/staging/" });
    expect(inngestRunUrl(custom, { externalId: "r2" })).toBe("https://inngest.example.com/env/staging/runs/r2");
    expect(inngestRunUrl(cloud, { externalId: null })).toBeNull();
    expect(inngestRunUrl(loadConfig({}), { externalId: "r3" })).toBeNull();
  });
});
