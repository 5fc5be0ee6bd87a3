/**
 * Settings (src/core/config): defaults on an empty environment, invalid values named by their
 * variable, each cloud adapter switched on by its settings or chosen explicitly, and a chosen
 * cloud adapter refused without its companion settings.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { ConfigError, isTorporError } from "../../src/core/errors";

const SECRET16 = "0123456789abcdef";

function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(isTorporError(error, "CONFIG_INVALID")).toBe(true);
    return error as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("loadConfig defaults", () => {
  it("runs fully embedded on an empty environment", () => {
    const c = loadConfig({ TORPOR_DATA_DIR: "/tmp/torpor-x" });
    expect(c.dataDir).toBe("/tmp/torpor-x");
    expect(c.stateStore).toEqual({ kind: "sqlite", file: path.join("/tmp/torpor-x", "torpor.sqlite") });
    expect(c.workflowEngine).toEqual({ kind: "embedded" });
    expect(c.objectStore).toMatchObject({ kind: "embedded", bucket: "torpor", prefix: "", embeddedDir: "/tmp/torpor-x/s3" });
    expect(c.sandbox).toEqual({ kind: "local", root: "/tmp/torpor-x/sandboxes", bubblewrap: "required" });
    // The local provider's wake is imperceptible, so its default timeout is short (README "Idle policy").
    expect(c.lifecycle).toMatchObject({ idleTimeoutMs: 120_000, activityCoalesceMs: 15_000, leaseTtlMs: 600_000 });
    expect(c.http).toEqual({ host: "127.0.0.1", port: 3000, publicUrl: undefined });
  });

  it("takes the idle timeout default from the provider: 2 min on local, 10 min on E2B; a set value wins on both", () => {
    expect(loadConfig({ TORPOR_DATA_DIR: "/tmp/t" }).lifecycle.idleTimeoutMs).toBe(120_000);
    const e2b = loadConfig({ TORPOR_DATA_DIR: "/tmp/t", E2B_API_KEY: "e2b_key" });
    expect(e2b.lifecycle.idleTimeoutMs).toBe(600_000);
    // E2B's own timer follows the timeout the provider uses.
    expect(e2b.sandbox).toMatchObject({ kind: "e2b", lifetimeMs: 600_000 + e2b.lifecycle.sweepPeriodMs + e2b.lifecycle.hibernateBudgetMs });
    expect(loadConfig({ TORPOR_DATA_DIR: "/tmp/t", TORPOR_IDLE_TIMEOUT_MS: "300000" }).lifecycle.idleTimeoutMs).toBe(300_000);
    expect(loadConfig({ TORPOR_DATA_DIR: "/tmp/t", E2B_API_KEY: "k", TORPOR_IDLE_TIMEOUT_MS: "300000" }).lifecycle.idleTimeoutMs).toBe(300_000);
  });

  it("requires bubblewrap unless TORPOR_BWRAP=off names it; auto is a deprecated alias of required", () => {
    const bwrap = (v?: string) => {
      const c = loadConfig({ TORPOR_DATA_DIR: "/tmp/torpor-x", ...(v === undefined ? {} : { TORPOR_BWRAP: v }) });
      return c.sandbox.kind === "local" ? c.sandbox.bubblewrap : null;
    };
    expect(bwrap()).toBe("required");
    expect(bwrap("required")).toBe("required");
    expect(bwrap("auto")).toBe("required");
    expect(bwrap("off")).toBe("off");
  });

  it("resolves a relative data dir and treats empty strings as unset", () => {
    const c = loadConfig({ TORPOR_DATA_DIR: "rel-data", CONVEX_URL: "", S3_BUCKET: "  ", E2B_API_KEY: "" });
    expect(c.dataDir).toBe(path.resolve("rel-data"));
    expect(c.stateStore.kind).toBe("sqlite");
    expect(c.objectStore.kind).toBe("embedded");
    expect(c.sandbox.kind).toBe("local");
  });

  it("parses numbers, lists and the S3 prefix", () => {
    const c = loadConfig({
      TORPOR_IDLE_TIMEOUT_MS: "5000", TORPOR_ACTIVITY_COALESCE_MS: "0", PORT: "0",
      TORPOR_IGNORE: "node_modules, .git\n dist ,", S3_PREFIX: "/team/a/",
    });
    expect(c.lifecycle.idleTimeoutMs).toBe(5000);
    expect(c.lifecycle.activityCoalesceMs).toBe(0);
    expect(c.http.port).toBe(0);
    expect(c.checkpoint.ignore).toEqual(["node_modules", ".git", "dist"]);
    expect(c.objectStore.prefix).toBe("team/a/");
  });
});

describe("history retention", () => {
  it("keeps change rows and runs 30 days by default, or the days set", () => {
    expect(loadConfig({}).lifecycle.historyRetentionDays).toBe(30);
    expect(loadConfig({ TORPOR_HISTORY_RETENTION_DAYS: "7" }).lifecycle.historyRetentionDays).toBe(7);
    expect(loadConfig({ TORPOR_HISTORY_RETENTION_DAYS: " 365 " }).lifecycle.historyRetentionDays).toBe(365);
  });
});

describe("invalid values name the variable", () => {
  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["TORPOR_IDLE_TIMEOUT_MS", "10"],
    ["TORPOR_ACTIVITY_COALESCE_MS", "-1"],
    ["TORPOR_LEASE_TTL_MS", "1.5"],
    ["TORPOR_STATE_STORE", "postgres"],
    ["TORPOR_LOG_LEVEL", "loud"],
    ["CONVEX_URL", "not a url"],
    ["TORPOR_CONVEX_SECRET", "short"],
    ["TORPOR_AUTH_SECRET", "too-short"],
    ["S3_BUCKET", "ab"],
    ["TORPOR_BWRAP", "maybe"],
    ["TORPOR_HISTORY_RETENTION_DAYS", "0"],
    ["TORPOR_HISTORY_RETENTION_DAYS", "2.5"],
    ["TORPOR_HISTORY_RETENTION_DAYS", "a month"],
    ["TORPOR_HISTORY_RETENTION_DAYS", "100000"],
  ])("%s=%s", (variable, value) => {
    const error = refusal({ [variable]: value });
    expect(error.message).toContain(`Invalid setting ${variable}`);
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.details.variable).toBe(variable);
  });
});

describe("cloud adapters switch on from their settings", () => {
  it("Convex when CONVEX_URL and the secret are set", () => {
    const c = loadConfig({ CONVEX_URL: "https://happy-otter-1.convex.cloud", TORPOR_CONVEX_SECRET: SECRET16 });
    expect(c.stateStore).toEqual({ kind: "convex", url: "https://happy-otter-1.convex.cloud", secret: SECRET16 });
  });
  it("an explicit choice wins over the settings", () => {
    const c = loadConfig({ TORPOR_STATE_STORE: "sqlite", CONVEX_URL: "https://x.convex.cloud", TORPOR_CONVEX_SECRET: SECRET16 });
    expect(c.stateStore.kind).toBe("sqlite");
  });
  it("S3 when S3_BUCKET is set, E2B when E2B_API_KEY is set, Inngest on its event key or dev flag", () => {
    const c = loadConfig({
      S3_BUCKET: "my-bucket", S3_ENDPOINT: "https://s3.example.com", AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b",
      E2B_API_KEY: "e2b_key", INNGEST_EVENT_KEY: "ek", INNGEST_SIGNING_KEY: "sk",
    });
    expect(c.objectStore).toMatchObject({ kind: "s3", bucket: "my-bucket", endpoint: "https://s3.example.com", accessKeyId: "a" });
    expect(c.sandbox).toEqual({ kind: "e2b", apiKey: "e2b_key", domain: undefined, template: "base", lifetimeMs: 21 * 60_000, maxRuntimeMs: 3_600_000 });
    expect(c.workflowEngine).toMatchObject({ kind: "inngest", eventKey: "ek", signingKey: "sk", dev: false });
    expect(loadConfig({ INNGEST_DEV: "1" }).workflowEngine).toMatchObject({ kind: "inngest", dev: true });
  });
  it("INNGEST_DEV=0 or false means not dev mode, and alone keeps the embedded engine", () => {
    expect(loadConfig({ INNGEST_DEV: "0" }).workflowEngine).toEqual({ kind: "embedded" });
    expect(loadConfig({ INNGEST_DEV: "false" }).workflowEngine).toEqual({ kind: "embedded" });
  });
});

describe("a chosen cloud adapter without its companion settings fails", () => {
  it.each([
    [{ CONVEX_URL: "https://x.convex.cloud" }, "TORPOR_CONVEX_SECRET"],
    [{ TORPOR_STATE_STORE: "convex", TORPOR_CONVEX_SECRET: SECRET16 }, "CONVEX_URL"],
    [{ TORPOR_OBJECT_STORE: "s3" }, "S3_BUCKET"],
    [{ S3_BUCKET: "my-bucket", AWS_ACCESS_KEY_ID: "a" }, "AWS_SECRET_ACCESS_KEY"],
    [{ S3_BUCKET: "my-bucket", AWS_SECRET_ACCESS_KEY: "b" }, "AWS_ACCESS_KEY_ID"],
    [{ TORPOR_SANDBOX_PROVIDER: "e2b" }, "E2B_API_KEY"],
    [{ INNGEST_EVENT_KEY: "ek" }, "INNGEST_SIGNING_KEY"],
    [{ TORPOR_WORKFLOW_ENGINE: "inngest" }, "INNGEST_EVENT_KEY"],
  ] as [Record<string, string>, string][])("%j needs %s", (env, variable) => {
    const error = refusal(env);
    expect(error.details.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^Invalid setting ${variable}: (required|set both)`));
  });
});
