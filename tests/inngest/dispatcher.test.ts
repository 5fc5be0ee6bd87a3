/**
 * Which engine the runtime talks to: without Inngest settings nothing reaches Inngest (the
 * embedded engine takes the events); with them, events go to Inngest's event API with the request
 * id as the event id (Inngest's de-duplication). A local HTTP server stands in for Inngest.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createInngestClient, inngestConfigured } from "../../inngest";
import { createInngestDispatcher } from "../../src/engine/inngest";
import { loadConfig } from "../../src/core/config";
import { startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
let server: http.Server | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
  server = undefined;
});

describe("workflow dispatcher", () => {
  it("uses the embedded engine when Inngest is not configured", async () => {
    rt = await startWorkflowRuntime();
    expect(inngestConfigured(rt.config)).toBe(false);
    expect(rt.runtime.dispatcher.kind).toBe("embedded");
    expect(rt.runtime.engine).toBeDefined();
    await expect(
      rt.runtime.dispatcher.send({ name: "torpor/session.resume.requested", data: { sessionId: "ses_missing", reason: "x", requestId: "r1" } }),
    ).resolves.toMatchObject({ ids: [expect.stringMatching(/^run_/)] });
  });

  it("sends events to Inngest with the request id as event id when configured", async () => {
    const received: { url: string; body: unknown }[] = [];
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        received.push({ url: req.url ?? "", body: JSON.parse(body || "null") });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ ids: ["evt_1"], status: 200 }));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const config = loadConfig({
      TORPOR_DATA_DIR: "/tmp/unused",
      INNGEST_DEV: "1",
      INNGEST_EVENT_KEY: "test-key",
      INNGEST_BASE_URL: `http://127.0.0.1:${port}`,
    });
    expect(inngestConfigured(config)).toBe(true);
    const dispatcher = createInngestDispatcher(createInngestClient(config));
    const out = await dispatcher.send({
      name: "torpor/session.hibernate.requested",
      data: { sessionId: "ses_1", reason: "idle", requestId: "req-42" },
    });
    expect(out.ids).toEqual(["evt_1"]);
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toMatch(/^\/e\/test-key/);
    expect(received[0]!.body).toMatchObject([
      { name: "torpor/session.hibernate.requested", id: "req-42", data: { sessionId: "ses_1", requestId: "req-42" } },
    ]);
  });

  it("refuses an invalid event before sending anything", async () => {
    const config = loadConfig({ TORPOR_DATA_DIR: "/tmp/unused", INNGEST_DEV: "1", INNGEST_BASE_URL: "http://127.0.0.1:9" });
    const dispatcher = createInngestDispatcher(createInngestClient(config));
    await expect(
      dispatcher.send({ name: "torpor/session.hibernate.requested", data: { sessionId: "", reason: "idle", requestId: "r" } }),
    ).rejects.toThrow(/sessionId/);
  });
});
