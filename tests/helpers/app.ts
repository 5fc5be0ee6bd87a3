/**
 * Helpers for the API and end-to-end tests:
 * - `startTestRuntime`: the real runtime (SQLite, embedded S3 on port 0, local sandboxes, embedded
 *   engine) in a temp data dir, with tRPC callers for any principal (no HTTP);
 * - `startApp`: the start command's process (dist/start.mjs, as scripts/start.mjs runs it), read
 *   until it prints its TORPOR_READY line; `stop()` sends SIGTERM and waits for the exit.
 *   `ensureBuilt` builds dist/ and .next only when missing: `npm test` builds both first, and a
 *   rebuild inside a test would race with the sources changing under it.
 * - `waitFor`: polls a condition until it holds (or fails with what it last saw); never a sleep.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, type Config } from "../../src/core/config";
import { createRuntime } from "../../src/runtime";
import { killSandboxes } from "./runtime";
import type { Principal } from "../../src/server/auth";
import { createContextInner } from "../../src/server/context";
import { createCaller } from "../../src/server/routers";

export type Runtime = Awaited<ReturnType<typeof createRuntime>>;

export interface TestRuntime {
  dir: string;
  config: Config;
  runtime: Runtime;
  /** `now`: the clock the procedures see (the store and workflows keep the real one). */
  caller(principal: Principal | undefined, now?: () => number): ReturnType<typeof createCaller>;
  close(): Promise<void>;
}

export async function startTestRuntime(env: Record<string, string> = {}): Promise<TestRuntime> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "torpor-server-"));
  const config = loadConfig({ TORPOR_DATA_DIR: dir, TORPOR_ACTIVITY_COALESCE_MS: "0", TORPOR_LOG_LEVEL: "warn", TORPOR_IDLE_TIMEOUT_MS: "600000", ...env });
  const runtime = await createRuntime(config, { startCron: false });
  return {
    dir,
    config,
    runtime,
    caller: (principal, now) => createCaller(createContextInner({ deps: runtime, principal, now })),
    async close() {
      await runtime.close();
      await killSandboxes(runtime.sandboxes); // after the close: no workflow starts another now
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const alice: Principal = { userId: "alice", role: "user" };
export const bob: Principal = { userId: "bob", role: "user" };
export const operator: Principal = { userId: "ops", role: "operator" };

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  { timeoutMs = 45_000, everyMs = 100 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (accept(last)) return last;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface RunningApp {
  url: string;
  token: string;
  output(): string;
  stop(): Promise<number | null>;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function ensureBuilt(): void {
  const run = (args: string[]) => {
    const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
    if (result.status !== 0) throw new Error(`build failed: node ${args.join(" ")}`);
  };
  if (!existsSync(path.join(ROOT, "dist/start.mjs"))) run(["scripts/build-node.mjs"]);
  if (!existsSync(path.join(ROOT, ".next/BUILD_ID"))) run(["node_modules/next/dist/bin/next", "build"]);
}

/** Runs the start command's process with these settings (a temp data dir, port 0 unless given). */
export async function startApp(env: Record<string, string>, { timeoutMs = 120_000 } = {}): Promise<RunningApp> {
  const child: ChildProcess = spawn(process.execPath, ["--openssl-legacy-provider", "dist/start.mjs"], {
    cwd: ROOT,
    // The idle timeout these tests were written against (the local provider's default is 2 min now).
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", TORPOR_IDLE_TIMEOUT_MS: "600000", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /TORPOR_READY (\{.*\})/.exec(out);
      if (match) {
        clearTimeout(timer);
        const line = JSON.parse(match[1]!) as { url: string; tokenFile: string };
        resolve({ url: line.url, token: readFileSync(line.tokenFile, "utf8").trim() });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`app exited (${code}) before it was ready:\n${out}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  try {
    const { url, token } = await ready;
    return { url, token, output: () => out, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
