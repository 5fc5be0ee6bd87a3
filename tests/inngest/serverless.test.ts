/**
 * Serverless limits: the /api/inngest route's maxDuration is a literal (Next reads route segment
 * config statically) and must equal TORPOR_SERVE_MAX_DURATION_S's default; the client checkpoints
 * steps for half of that; Inngest calls the app back at TORPOR_PUBLIC_URL.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { checkpointMaxRuntimeMs, createInngestClient, inngestServeOptions } from "../../src/engine/inngest";

const inngestEnv = { INNGEST_DEV: "1", TORPOR_DATA_DIR: "/tmp/torpor-serverless-test" };

describe("serverless limits", () => {
  it("the route exports maxDuration as a literal equal to the setting's default", () => {
    const source = readFileSync(path.join(__dirname, "../../app/api/inngest/route.ts"), "utf8");
    const literal = /^export const maxDuration = (\d+);$/m.exec(source);
    expect(literal).not.toBeNull();
    const config = loadConfig(inngestEnv);
    if (config.workflowEngine.kind !== "inngest") throw new Error("expected the inngest engine");
    expect(Number(literal![1]) * 1000).toBe(config.workflowEngine.maxDurationMs);
  });

  it("checkpoints for half the request limit and serves at the public URL", () => {
    const config = loadConfig({ ...inngestEnv, TORPOR_SERVE_MAX_DURATION_S: "800", TORPOR_PUBLIC_URL: "https://torpor.example.com/" });
    const client = createInngestClient(config) as unknown as { options: { checkpointing?: { maxRuntime?: number } } };
    expect(client.options.checkpointing).toEqual({ maxRuntime: 400_000 });
    expect(checkpointMaxRuntimeMs(300_000)).toBeLessThan(300_000);
    expect(inngestServeOptions(config)).toEqual({ serveOrigin: "https://torpor.example.com" });
    const behindPath = loadConfig({ ...inngestEnv, TORPOR_PUBLIC_URL: "https://example.com/torpor" });
    expect(inngestServeOptions(behindPath)).toEqual({ serveOrigin: "https://example.com", servePath: "/torpor/api/inngest" });
    expect(inngestServeOptions(loadConfig({ TORPOR_DATA_DIR: "/tmp/torpor-serverless-test" }))).toEqual({});
  });
});
