/**
 * /api/inngest: 404 with the reason under the embedded engine (nothing may reach Inngest); the
 * SDK's endpoint, listing Torpor's functions, when Inngest is configured (dev mode here: no network).
 * The route reads the process's settings, so each case loads it afresh with its own environment.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";

const dir = mkdtempSync(path.join(os.tmpdir(), "torpor-inngest-route-"));
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

async function route(env: Record<string, string>) {
  for (const [k, v] of Object.entries({ TORPOR_DATA_DIR: dir, INNGEST_DEV: "", INNGEST_EVENT_KEY: "", ...env })) vi.stubEnv(k, v);
  return import("../../app/api/inngest/route");
}

describe("/api/inngest", () => {
  it("answers 404 with the reason when workflows run on the embedded engine", async () => {
    const { GET, PUT } = await route({});
    for (const call of [GET, PUT]) {
      const response = await call(new Request("http://127.0.0.1/api/inngest") as never, {});
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: string }).error).toMatch(/^Inngest is not configured/);
    }
  });

  it("serves the Inngest SDK's endpoint with Torpor's functions when Inngest is configured", async () => {
    const { GET } = await route({ INNGEST_DEV: "1" });
    const response = await GET(new Request("http://127.0.0.1/api/inngest") as never, {});
    expect(response.status).toBe(200);
    const body = (await response.json()) as { function_count?: number; mode?: string };
    // Inngest registers each onFailure handler as a function of its own ("<id>-failure").
    const { functions } = await import("../../inngest");
    const withFailureHandler = functions.filter((f) => (f as unknown as { onFailureFn?: unknown }).onFailureFn !== undefined);
    expect(withFailureHandler.length).toBeGreaterThan(0);
    expect(body.function_count).toBe(functions.length + withFailureHandler.length);
  });
});
