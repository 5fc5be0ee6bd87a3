/**
 * All of Torpor's settings: one zod schema, read from the environment once.
 *
 * This is the only module that reads `process.env`. Every other module takes a `Config` (or the
 * part it needs) as an argument, so tests build configs with `loadConfig({...})` and no globals.
 * An invalid value stops start-up with a message that names the variable.
 *
 * Each cloud adapter switches on by configuration: set its settings and it is chosen, or pick
 * one explicitly with TORPOR_STATE_STORE / TORPOR_WORKFLOW_ENGINE / TORPOR_OBJECT_STORE /
 * TORPOR_SANDBOX_PROVIDER. Choosing a cloud adapter without its settings is an error.
 *
 * Why this file is over 400 lines: the schema is the one list of every setting (the README's
 * settings table and tests/core/config-settings.test.ts are checked against it), and the loader
 * beside it turns the parsed variables into the Config shape; splitting them would make two lists.
 */
import path from "node:path";
import { Cron } from "croner";
import * as z from "zod";
import { ConfigError } from "./errors";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();
const url = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .pipe(z.url().optional())
  .optional();
/** The largest TORPOR_SMALL_FILE_BYTES: a packed file must fit one 2 MiB frame. */
export const MAX_SMALL_FILE_BYTES = 2 * 1024 * 1024;
const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]+)$/;
function isCronPattern(value: string): boolean {
  try {
    new Cron(value, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}
const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", ""])
  .optional()
  .transform((v) => v === "1" || v === "true" || v === "yes");

/** The environment variables, as named in the README's settings table. */
export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  TORPOR_DATA_DIR: z
    .string()
    .default(".torpor-data")
    // Kernel filesystems are no place for data (a data dir under /proc hung start-up at 100 % CPU).
    .refine((v) => !/^\/(proc|sys|dev)(\/|$)/.test(path.resolve(v)), "must not be under /proc, /sys or /dev"),
  PORT: int(0, 3000).pipe(z.number().max(65535)),
  HOST: z
    .string()
    .default("127.0.0.1")
    .refine((v) => HOST_PATTERN.test(v), "must be an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::1, localhost)"),
  TORPOR_PUBLIC_URL: url,
  TORPOR_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),

  TORPOR_STATE_STORE: z.enum(["sqlite", "convex"]).optional(),
  TORPOR_WORKFLOW_ENGINE: z.enum(["embedded", "inngest"]).optional(),
  TORPOR_OBJECT_STORE: z.enum(["embedded", "s3"]).optional(),
  TORPOR_SANDBOX_PROVIDER: z.enum(["local", "e2b"]).optional(),

  // Object store (any S3-compatible endpoint).
  S3_ENDPOINT: url,
  S3_BUCKET: optionalString.pipe(z.string().min(3).max(63).optional()),
  S3_PREFIX: optionalString,
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_REGION: z.string().default("us-east-1"),
  TORPOR_S3_CONNECT_TIMEOUT_MS: int(100, 5 * SECOND),
  TORPOR_S3_SOCKET_TIMEOUT_MS: int(1000, 30 * SECOND),
  TORPOR_S3_REQUEST_TIMEOUT_MS: int(1000, 5 * MINUTE),
  TORPOR_S3_MULTIPART_THRESHOLD_BYTES: int(5 * MIB, 64 * MIB).pipe(z.number().max(5 * GIB)),
  TORPOR_S3_PART_BYTES: int(5 * MIB, 16 * MIB).pipe(z.number().max(5 * GIB)),

  // State store.
  CONVEX_URL: url,
  TORPOR_CONVEX_SECRET: optionalString.pipe(z.string().min(16).optional()),

  // Workflow engine.
  INNGEST_EVENT_KEY: optionalString,
  INNGEST_SIGNING_KEY: optionalString,
  INNGEST_DEV: optionalString,
  INNGEST_BASE_URL: url,
  INNGEST_APP_ID: z.string().default("torpor"),
  // The platform's limit on one /api/inngest request, in seconds (app/api/inngest/route.ts exports
  // the default as its maxDuration literal: Next reads segment config statically).
  TORPOR_SERVE_MAX_DURATION_S: int(10, 300).pipe(z.number().max(3600)),

  // Sandbox provider.
  E2B_API_KEY: optionalString,
  E2B_DOMAIN: optionalString,
  E2B_TEMPLATE: z.string().default("base"),
  // E2B's cap on a sandbox's continuous runtime: Hobby 1 h, Pro 24 h. Lifetimes asked of E2B are clamped to it.
  TORPOR_E2B_MAX_RUNTIME_MS: int(60 * SECOND, HOUR).pipe(z.number().max(DAY)),
  // Isolation unless turned off by name: "auto" (the old default, which fell back to running
  // sandboxes as the host's user when bwrap was missing) is kept as a deprecated alias of "required".
  TORPOR_BWRAP: z
    .enum(["required", "off", "auto"])
    .default("required")
    .transform((v): "required" | "off" => (v === "off" ? "off" : "required")),

  // Auth for the tRPC API and dashboard (HS256 JWT).
  TORPOR_AUTH_SECRET: optionalString.pipe(z.string().min(32).optional()),

  // Lifecycle policy.
  // Unset: the provider's default (defaultIdleTimeoutMs), chosen by the idle-policy simulator.
  TORPOR_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1000).optional(),
  TORPOR_ACTIVITY_COALESCE_MS: int(0, 15 * SECOND),
  // The change feed's window: file events of one path within it make one change row.
  TORPOR_CHANGE_COALESCE_MS: int(10, SECOND),
  // Continuous flush (the RPO): pending changes older than this get a checkpoint while running; 0 = off.
  TORPOR_FLUSH_INTERVAL_MS: int(0, 5 * MINUTE),
  // CPU as activity: an idle candidate whose sandbox used more than this share of one core is not idle; 0 = off.
  TORPOR_IDLE_CPU_THRESHOLD: z.coerce.number().min(0).default(0.25),
  TORPOR_SWEEP_CRON: z
    .string()
    .default("* * * * *")
    .refine(isCronPattern, "must be a cron expression of 5 or 6 fields (e.g. '* * * * *', '*/5 * * * * *')"),
  TORPOR_ARCHIVE_AFTER_MS: int(0, 7 * DAY),
  TORPOR_LEASE_TTL_MS: int(1000, 10 * MINUTE),
  TORPOR_HIBERNATE_BUDGET_MS: int(0, 10 * MINUTE),
  TORPOR_HOOK_TIMEOUT_MS: int(100, 2 * MINUTE),
  TORPOR_PROGRESS_INTERVAL_MS: int(0, 500),
  TORPOR_RETAIN_LAST: int(1, 10),
  TORPOR_RETAIN_DAILY_DAYS: int(0, 7),
  TORPOR_HISTORY_RETENTION_DAYS: int(1, 30).pipe(z.number().max(36500)),

  // Checkpoints.
  TORPOR_IGNORE: optionalString,
  TORPOR_IGNORE_FILE: optionalString,
  TORPOR_CONCURRENCY: int(1, 16),
  TORPOR_PACK_TARGET_BYTES: int(64 * 1024, 16 * 1024 * 1024),
  // Packed files go into frames of at most 2 MiB (MAX_FRAME_BYTES in src/checkpoint/repo/codec.ts):
  // a larger setting made every checkpoint unrestorable while snapshots still succeeded.
  TORPOR_SMALL_FILE_BYTES: int(0, 1024 * 1024).pipe(z.number().max(MAX_SMALL_FILE_BYTES)),
  TORPOR_GC_GRACE_MS: int(0, HOUR),
  // Deltas a manifest chain holds before a full manifest is written again (0: every checkpoint
  // full); readers follow at most 128 (MAX_CHAIN_DEPTH in src/checkpoint/repo/manifest-chain.ts).
  TORPOR_DELTA_CHAIN_MAX: int(0, 20).pipe(z.number().max(100)),

  // Per-tenant limits (src/server/limits).
  TORPOR_MAX_REQUEST_BYTES: int(64 * 1024, 16 * 1024 * 1024),
  TORPOR_MAX_BATCH: int(1, 20),
  TORPOR_MAX_SESSIONS_PER_USER: int(0, 100),

  // Dashboard.
  TORPOR_PRICE_PER_HOUR: z.coerce.number().min(0).default(0.1),
  TORPOR_INNGEST_DASHBOARD_URL: url,
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  env: "development" | "production" | "test";
  dataDir: string;
  http: { host: string; port: number; publicUrl: string | undefined };
  logLevel: "debug" | "info" | "warn" | "error";
  stateStore:
    | { kind: "sqlite"; file: string }
    | { kind: "convex"; url: string; secret: string };
  workflowEngine:
    | { kind: "embedded" }
    | {
        kind: "inngest";
        appId: string;
        eventKey: string | undefined;
        signingKey: string | undefined;
        dev: boolean;
        baseUrl: string | undefined;
        dashboardUrl: string | undefined;
        /** The serve route's request limit; steps are checkpointed for half of it (see src/engine/inngest). */
        maxDurationMs: number;
        /** Where Inngest reaches /api/inngest (TORPOR_PUBLIC_URL); unset: inferred from the request. */
        serveOrigin: string | undefined;
      };
  objectStore: {
    kind: "embedded" | "s3";
    /** Unset for "embedded": the embedded server picks its port at start. */
    endpoint: string | undefined;
    bucket: string;
    prefix: string;
    region: string;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    /** Folder of the embedded store's files (the filesystem adapter; `torpor s3-server` serves it). */
    embeddedDir: string;
    /** S3 adapter: connect, idle-socket and whole-request limits (a half-open connection must not hang a step). */
    connectionTimeoutMs: number;
    socketTimeoutMs: number;
    requestTimeoutMs: number;
    /** S3 adapter: streamed bodies larger than this go up as a multipart upload of parts of `partBytes`. */
    multipartThresholdBytes: number;
    partBytes: number;
  };
  sandbox:
    | { kind: "local"; root: string; bubblewrap: "required" | "off" }
    | {
        kind: "e2b";
        apiKey: string;
        domain: string | undefined;
        template: string;
        /** E2B's timeout for a new or resumed sandbox: sandboxLifetimeMs at the default idle timeout. */
        lifetimeMs: number;
        /** The tier's cap on continuous runtime (TORPOR_E2B_MAX_RUNTIME_MS). */
        maxRuntimeMs: number;
      };
  auth: { secret: string | undefined };
  lifecycle: {
    idleTimeoutMs: number;
    activityCoalesceMs: number;
    /** The change feed's coalescing window (src/runtime/change-feed). */
    changeCoalesceMs: number;
    /** A running session's pending changes older than this get a flush checkpoint (src/workflows/flush); 0 = off. */
    flushIntervalMs: number;
    /** An idle candidate whose sandbox's CPU load (cores) is above this is not idle (src/core/cpu-activity); 0 = off. */
    idleCpuThreshold: number;
    sweepCron: string;
    /** The longest gap between two sweeps of sweepCron. */
    sweepPeriodMs: number;
    /** How long a hibernate may take, from the sweep's request to the pause (TORPOR_HIBERNATE_BUDGET_MS). */
    hibernateBudgetMs: number;
    archiveAfterMs: number;
    leaseTtlMs: number;
    hookTimeoutMs: number;
    /** Least time between two progress writes of a running checkpoint step (advisory, for the dashboard). */
    progressIntervalMs: number;
    retainLast: number;
    retainDailyDays: number;
    /** Flushed change rows and finished runs older than this many days are pruned (src/core/history). */
    historyRetentionDays: number;
  };
  checkpoint: {
    ignore: string[];
    ignoreFile: string | undefined;
    concurrency: number;
    packTargetBytes: number;
    smallFileBytes: number;
    gcGraceMs: number;
    /** Delta manifests in a chain before the next full one (src/checkpoint/manifest-chain). */
    deltaChainMax: number;
  };
  limits: {
    /** Request bodies are refused past this many bytes, counted while they stream in. */
    maxRequestBytes: number;
    /** Most calls in one tRPC batch. */
    maxBatch: number;
    /** Most sessions (not deleted) per user; 0: no limit. */
    maxSessionsPerUser: number;
  };
  dashboard: { pricePerHour: number };
}

function fail(variable: string, message: string): never {
  throw new ConfigError(`Invalid setting ${variable}: ${message}`, { details: { variable } });
}

/** Parse settings from an environment-like object. Throws ConfigError naming the variable. */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    fail(variable, `${issue.message} (got ${JSON.stringify(source[variable] ?? null)})`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.TORPOR_DATA_DIR);

  // INNGEST_DEV follows the Inngest SDK: "0" or "false" means not dev mode.
  const inngestDev = e.INNGEST_DEV !== undefined && !["0", "false"].includes(e.INNGEST_DEV);
  const stateKind = e.TORPOR_STATE_STORE ?? (e.CONVEX_URL ? "convex" : "sqlite");
  const engineKind = e.TORPOR_WORKFLOW_ENGINE ?? (e.INNGEST_EVENT_KEY || inngestDev ? "inngest" : "embedded");
  const objectKind = e.TORPOR_OBJECT_STORE ?? (e.S3_BUCKET ? "s3" : "embedded");
  const sandboxKind = e.TORPOR_SANDBOX_PROVIDER ?? (e.E2B_API_KEY ? "e2b" : "local");
  const idleTimeoutMs = e.TORPOR_IDLE_TIMEOUT_MS ?? defaultIdleTimeoutMs(sandboxKind);

  let stateStore: Config["stateStore"];
  if (stateKind === "convex") {
    if (!e.CONVEX_URL) fail("CONVEX_URL", "required when the state store is convex");
    if (!e.TORPOR_CONVEX_SECRET) fail("TORPOR_CONVEX_SECRET", "required when the state store is convex");
    stateStore = { kind: "convex", url: e.CONVEX_URL, secret: e.TORPOR_CONVEX_SECRET };
  } else {
    stateStore = { kind: "sqlite", file: path.join(dataDir, "torpor.sqlite") };
  }

  let workflowEngine: Config["workflowEngine"];
  if (engineKind === "inngest") {
    const dev = inngestDev;
    if (!dev && !e.INNGEST_EVENT_KEY) fail("INNGEST_EVENT_KEY", "required for Inngest Cloud (or set INNGEST_DEV=1)");
    if (!dev && !e.INNGEST_SIGNING_KEY) fail("INNGEST_SIGNING_KEY", "required for Inngest Cloud (or set INNGEST_DEV=1)");
    workflowEngine = {
      kind: "inngest",
      appId: e.INNGEST_APP_ID,
      eventKey: e.INNGEST_EVENT_KEY,
      signingKey: e.INNGEST_SIGNING_KEY,
      dev,
      baseUrl: e.INNGEST_BASE_URL,
      dashboardUrl: e.TORPOR_INNGEST_DASHBOARD_URL,
      maxDurationMs: e.TORPOR_SERVE_MAX_DURATION_S * SECOND,
      serveOrigin: e.TORPOR_PUBLIC_URL,
    };
  } else {
    workflowEngine = { kind: "embedded" };
  }

  if (objectKind === "s3") {
    if (!e.S3_BUCKET) fail("S3_BUCKET", "required when the object store is s3");
    if (!e.AWS_ACCESS_KEY_ID !== !e.AWS_SECRET_ACCESS_KEY) {
      fail(e.AWS_ACCESS_KEY_ID ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID", "set both access key variables or neither");
    }
  }
  const prefix = (e.S3_PREFIX ?? "").replace(/^\/+|\/+$/g, "");

  let sandbox: Config["sandbox"];
  if (sandboxKind === "e2b") {
    if (!e.E2B_API_KEY) fail("E2B_API_KEY", "required when the sandbox provider is e2b");
    sandbox = {
      kind: "e2b",
      apiKey: e.E2B_API_KEY,
      domain: e.E2B_DOMAIN,
      template: e.E2B_TEMPLATE,
      lifetimeMs: idleTimeoutMs + sweepPeriodMs(e.TORPOR_SWEEP_CRON) + e.TORPOR_HIBERNATE_BUDGET_MS,
      maxRuntimeMs: e.TORPOR_E2B_MAX_RUNTIME_MS,
    };
  } else {
    sandbox = { kind: "local", root: path.join(dataDir, "sandboxes"), bubblewrap: e.TORPOR_BWRAP };
  }

  return {
    env: e.NODE_ENV,
    dataDir,
    http: { host: e.HOST, port: e.PORT, publicUrl: e.TORPOR_PUBLIC_URL },
    logLevel: e.TORPOR_LOG_LEVEL,
    stateStore,
    workflowEngine,
    objectStore: {
      kind: objectKind,
      endpoint: e.S3_ENDPOINT,
      bucket: e.S3_BUCKET ?? "torpor",
      prefix: prefix === "" ? "" : `${prefix}/`,
      region: e.AWS_REGION,
      accessKeyId: e.AWS_ACCESS_KEY_ID,
      secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
      embeddedDir: path.join(dataDir, "s3"),
      connectionTimeoutMs: e.TORPOR_S3_CONNECT_TIMEOUT_MS,
      socketTimeoutMs: e.TORPOR_S3_SOCKET_TIMEOUT_MS,
      requestTimeoutMs: e.TORPOR_S3_REQUEST_TIMEOUT_MS,
      multipartThresholdBytes: e.TORPOR_S3_MULTIPART_THRESHOLD_BYTES,
      partBytes: e.TORPOR_S3_PART_BYTES,
    },
    sandbox,
    auth: { secret: e.TORPOR_AUTH_SECRET },
    lifecycle: {
      idleTimeoutMs,
      activityCoalesceMs: e.TORPOR_ACTIVITY_COALESCE_MS,
      changeCoalesceMs: e.TORPOR_CHANGE_COALESCE_MS,
      flushIntervalMs: e.TORPOR_FLUSH_INTERVAL_MS,
      idleCpuThreshold: e.TORPOR_IDLE_CPU_THRESHOLD,
      sweepCron: e.TORPOR_SWEEP_CRON,
      sweepPeriodMs: sweepPeriodMs(e.TORPOR_SWEEP_CRON),
      hibernateBudgetMs: e.TORPOR_HIBERNATE_BUDGET_MS,
      archiveAfterMs: e.TORPOR_ARCHIVE_AFTER_MS,
      leaseTtlMs: e.TORPOR_LEASE_TTL_MS,
      hookTimeoutMs: e.TORPOR_HOOK_TIMEOUT_MS,
      progressIntervalMs: e.TORPOR_PROGRESS_INTERVAL_MS,
      retainLast: e.TORPOR_RETAIN_LAST,
      retainDailyDays: e.TORPOR_RETAIN_DAILY_DAYS,
      historyRetentionDays: e.TORPOR_HISTORY_RETENTION_DAYS,
    },
    checkpoint: {
      ignore: (e.TORPOR_IGNORE ?? "").split(/[,\n]/).map((s) => s.trim()).filter(Boolean),
      ignoreFile: e.TORPOR_IGNORE_FILE,
      concurrency: e.TORPOR_CONCURRENCY,
      packTargetBytes: e.TORPOR_PACK_TARGET_BYTES,
      smallFileBytes: e.TORPOR_SMALL_FILE_BYTES,
      gcGraceMs: e.TORPOR_GC_GRACE_MS,
      deltaChainMax: e.TORPOR_DELTA_CHAIN_MAX,
    },
    limits: {
      maxRequestBytes: e.TORPOR_MAX_REQUEST_BYTES,
      maxBatch: e.TORPOR_MAX_BATCH,
      maxSessionsPerUser: e.TORPOR_MAX_SESSIONS_PER_USER,
    },
    dashboard: { pricePerHour: e.TORPOR_PRICE_PER_HOUR },
  };
}

/** The longest gap between the next few runs of a cron pattern (an hourly or daily cron: its hour or day). */
export function sweepPeriodMs(cron: string): number {
  const runs = new Cron(cron, { paused: true }).nextRuns(10, new Date(0)).map((d) => d.getTime());
  let gap = 0;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i]! - runs[i - 1]!);
  return gap || MINUTE;
}

/**
 * How long a provider must keep a sandbox alive without activity (E2B's timeout): until the idle
 * deadline, plus a sweep period for the sweep to notice, plus the hibernate's budget to checkpoint
 * and pause it. Moved forward on recorded activity; a provider may clamp it to its own cap.
 */
/**
 * The idle timeout when TORPOR_IDLE_TIMEOUT_MS is unset, per sandbox provider, from the
 * idle-policy simulator (`npm run bench -- idle-policy`, README "Idle policy"). The local
 * provider wakes a paused session in about 77 ms (bench/wake.bench.mjs), below what a user
 * notices, so a short timeout costs no wait: 2 minutes bills about a third of the idle
 * sandbox-hours of a 10-minute one. E2B's resume takes about a second, so every extra sleep is a
 * wait the user sees: 10 minutes, which no policy can beat by half without more of them.
 */
export function defaultIdleTimeoutMs(provider: "local" | "e2b"): number {
  return provider === "local" ? 2 * MINUTE : 10 * MINUTE;
}

export function sandboxLifetimeMs(lifecycle: Config["lifecycle"], idleTimeoutMs = lifecycle.idleTimeoutMs): number {
  return idleTimeoutMs + lifecycle.sweepPeriodMs + lifecycle.hibernateBudgetMs;
}

let cached: Config | undefined;

/**
 * The process's environment, the one place it is read. For an entry point that must settle a
 * setting before it loads its Config (the CLI finds its data dir as the app does); everything
 * else takes a Config.
 */
export function processEnv(): Readonly<Record<string, string | undefined>> {
  return process.env;
}

/** The process's settings, read from `process.env` on first use and never again. */
export function getConfig(): Config {
  cached ??= loadConfig(processEnv());
  return cached;
}
