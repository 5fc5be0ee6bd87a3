// Every setting of the env schema reaches the Config (a key parsed but never used is a setting that
// lies), and impossible values stop start-up naming the variable (issue 14, "Settings").
import { describe, expect, it } from "vitest";
import { envSchema, loadConfig } from "../../src/core/config";

/** A valid value for each variable that differs from its default, plus what it needs beside it. */
const SAMPLES: Record<string, { value: string; with?: Record<string, string> }> = {
  NODE_ENV: { value: "production" },
  TORPOR_DATA_DIR: { value: "/tmp/torpor-elsewhere" },
  PORT: { value: "4000" },
  HOST: { value: "0.0.0.0" },
  TORPOR_PUBLIC_URL: { value: "https://torpor.example.com" },
  TORPOR_LOG_LEVEL: { value: "warn" },
  // A selector overrides the choice its adapter's settings would make.
  TORPOR_STATE_STORE: { value: "sqlite", with: { CONVEX_URL: "https://x.convex.cloud", TORPOR_CONVEX_SECRET: "s".repeat(20) } },
  TORPOR_WORKFLOW_ENGINE: { value: "embedded", with: { INNGEST_DEV: "1" } },
  TORPOR_OBJECT_STORE: { value: "embedded", with: { S3_BUCKET: "bucket" } },
  TORPOR_SANDBOX_PROVIDER: { value: "local", with: { E2B_API_KEY: "e2b_key" } },
  S3_ENDPOINT: { value: "http://127.0.0.1:9000" },
  S3_BUCKET: { value: "other-bucket" },
  S3_PREFIX: { value: "tenant-a" },
  AWS_ACCESS_KEY_ID: { value: "AKIA", with: { AWS_SECRET_ACCESS_KEY: "secret" } },
  AWS_SECRET_ACCESS_KEY: { value: "secret", with: { AWS_ACCESS_KEY_ID: "AKIA" } },
  AWS_REGION: { value: "eu-west-1" },
  TORPOR_S3_CONNECT_TIMEOUT_MS: { value: "2000" },
  TORPOR_S3_SOCKET_TIMEOUT_MS: { value: "10000" },
  TORPOR_S3_REQUEST_TIMEOUT_MS: { value: "60000" },
  TORPOR_S3_MULTIPART_THRESHOLD_BYTES: { value: String(32 * 1024 * 1024) },
  TORPOR_S3_PART_BYTES: { value: String(8 * 1024 * 1024) },
  CONVEX_URL: { value: "https://x.convex.cloud", with: { TORPOR_CONVEX_SECRET: "s".repeat(20) } },
  // Required with their adapter: compared against another value.
  TORPOR_CONVEX_SECRET: { value: "t".repeat(20), with: { CONVEX_URL: "https://x.convex.cloud", TORPOR_CONVEX_SECRET: "s".repeat(20) } },
  INNGEST_EVENT_KEY: { value: "evt", with: { INNGEST_SIGNING_KEY: "signkey" } },
  INNGEST_SIGNING_KEY: { value: "signkey2", with: { INNGEST_EVENT_KEY: "evt", INNGEST_SIGNING_KEY: "signkey1" } },
  INNGEST_DEV: { value: "1" },
  INNGEST_BASE_URL: { value: "http://127.0.0.1:8288", with: { INNGEST_DEV: "1" } },
  INNGEST_APP_ID: { value: "other-app", with: { INNGEST_DEV: "1" } },
  TORPOR_SERVE_MAX_DURATION_S: { value: "800", with: { INNGEST_DEV: "1" } },
  E2B_API_KEY: { value: "e2b_key" },
  TORPOR_E2B_MAX_RUNTIME_MS: { value: String(24 * 3600_000), with: { E2B_API_KEY: "e2b_key" } },
  TORPOR_HIBERNATE_BUDGET_MS: { value: "120000", with: { E2B_API_KEY: "e2b_key" } },
  E2B_DOMAIN: { value: "e2b.example.com", with: { E2B_API_KEY: "e2b_key" } },
  E2B_TEMPLATE: { value: "node", with: { E2B_API_KEY: "e2b_key" } },
  TORPOR_BWRAP: { value: "off" },
  TORPOR_AUTH_SECRET: { value: "a".repeat(40) },
  TORPOR_IDLE_TIMEOUT_MS: { value: "300000" },
  TORPOR_ACTIVITY_COALESCE_MS: { value: "1000" },
  TORPOR_SWEEP_CRON: { value: "*/5 * * * *" },
  TORPOR_ARCHIVE_AFTER_MS: { value: "1000" },
  TORPOR_LEASE_TTL_MS: { value: "5000" },
  TORPOR_HOOK_TIMEOUT_MS: { value: "5000" },
  TORPOR_PROGRESS_INTERVAL_MS: { value: "100" },
  TORPOR_RETAIN_LAST: { value: "3" },
  TORPOR_RETAIN_DAILY_DAYS: { value: "2" },
  TORPOR_HISTORY_RETENTION_DAYS: { value: "90" },
  TORPOR_IGNORE: { value: "node_modules,dist" },
  TORPOR_IGNORE_FILE: { value: "/tmp/ignore" },
  TORPOR_CONCURRENCY: { value: "4" },
  TORPOR_PACK_TARGET_BYTES: { value: "1048576" },
  TORPOR_SMALL_FILE_BYTES: { value: "65536" },
  TORPOR_GC_GRACE_MS: { value: "0" },
  TORPOR_DELTA_CHAIN_MAX: { value: "5" },
  TORPOR_MAX_REQUEST_BYTES: { value: "1048576" },
  TORPOR_MAX_BATCH: { value: "5" },
  TORPOR_CHANGE_COALESCE_MS: { value: "250" },
  TORPOR_FLUSH_INTERVAL_MS: { value: "0" },
  TORPOR_IDLE_CPU_THRESHOLD: { value: "0.5" },
  TORPOR_MAX_SESSIONS_PER_USER: { value: "7" },
  TORPOR_PRICE_PER_HOUR: { value: "0.5" },
  TORPOR_INNGEST_DASHBOARD_URL: { value: "http://localhost:9999", with: { INNGEST_DEV: "1" } },
};

describe("every setting is used", () => {
  it("has a sample for every variable of the schema", () => {
    expect(Object.keys(envSchema.shape).filter((k) => !(k in SAMPLES))).toEqual([]);
  });

  for (const key of Object.keys(envSchema.shape)) {
    it(`${key} changes the Config`, () => {
      const sample = SAMPLES[key];
      if (!sample) throw new Error(`no sample for ${key}`);
      const context = sample.with ?? {};
      const without = loadConfig({ ...context });
      const withIt = loadConfig({ ...context, [key]: sample.value });
      expect(withIt).not.toEqual(without);
    });
  }
});

describe("impossible settings stop start-up naming the variable", () => {
  const refused: [string, string][] = [
    ["TORPOR_SWEEP_CRON", "junk"],
    ["TORPOR_SWEEP_CRON", "61 * * * *"],
    ["HOST", "not a host!"],
    ["HOST", "http://127.0.0.1"],
    ["TORPOR_DATA_DIR", "/proc/x"],
    ["TORPOR_DATA_DIR", "/sys"],
    ["TORPOR_SMALL_FILE_BYTES", String(2 * 1024 * 1024 + 1)],
  ];
  for (const [variable, value] of refused) {
    it(`${variable}=${value}`, () => {
      expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`Invalid setting ${variable}`));
    });
  }

  it("accepts the limits themselves", () => {
    expect(loadConfig({ TORPOR_SMALL_FILE_BYTES: String(2 * 1024 * 1024) }).checkpoint.smallFileBytes).toBe(2 * 1024 * 1024);
    expect(loadConfig({ HOST: "::1" }).http.host).toBe("::1");
    expect(loadConfig({ HOST: "localhost" }).http.host).toBe("localhost");
    expect(loadConfig({ TORPOR_SWEEP_CRON: "*/5 * * * * *" }).lifecycle.sweepCron).toBe("*/5 * * * * *");
  });
});
