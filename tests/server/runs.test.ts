/** runs.list: a session's workflow runs with steps; Inngest run links only when Inngest runs them. */
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
