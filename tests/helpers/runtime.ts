/**
 * Helpers for the workflow, engine and fault tests: a real runtime (SQLite file, embedded S3 on
 * port 0, local sandboxes, embedded engine) in a temp data dir, sessions with files in real local
 * sandboxes, and file fingerprints to compare a workspace with what it should hold.
 */
import { createHash, randomBytes } from "node:crypto";
import { expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type Config } from "../../src/core/config";
import type { RunRecord, Session, StepRecord } from "../../src/core/types";
import type { TorporEvent } from "../../src/workflows/types";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../src/runtime";
import type { SandboxProvider } from "../../src/sandbox/types";

export type { Runtime };

/** Settings for tests: fast retries, no bubblewrap requirement, short hook limit. */
export function testEnv(dir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    TORPOR_DATA_DIR: dir,
    // The timeout these tests were written against (the local provider's default is 2 min now).
    TORPOR_IDLE_TIMEOUT_MS: "600000",
    TORPOR_ACTIVITY_COALESCE_MS: "0",
    TORPOR_LOG_LEVEL: "warn",
    TORPOR_BWRAP: "off",
    TORPOR_HOOK_TIMEOUT_MS: "5000",
    TORPOR_GC_GRACE_MS: "0",
    ...env,
  };
}

export interface WorkflowRuntime {
  dir: string;
  config: Config;
  runtime: Runtime;
  close(): Promise<void>;
}

export async function startWorkflowRuntime(
  options: RuntimeOptions & { env?: Record<string, string>; dir?: string } = {},
): Promise<WorkflowRuntime> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), "torpor-wf-"));
  const config = loadConfig(testEnv(dir, options.env));
  const runtime = await createRuntime(config, { retry: { baseMs: 5, maxMs: 50 }, log: () => {}, ...options });
  return {
    dir,
    config,
    runtime,
    async close() {
      await runtime.close();
      // After the close (no workflow can start another sandbox now). A caller's own dir may be
      // opened again (restart tests): its sandboxes must live on.
      if (!options.dir) await killSandboxes(runtime.sandboxes);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type FileSet = Record<string, string | Buffer>;

/** A few files of each kind: small text, nested folders, a binary file, an empty file. */
export function sampleFiles(seed = "a", count = 6): FileSet {
  const files: FileSet = {
    "README.md": `# project ${seed}\n`,
    "src/index.ts": `export const seed = "${seed}";\n`,
    "src/lib/util.ts": `export const twice = (n: number) => n * 2; // ${seed}\n`,
    "empty.txt": "",
    "assets/blob.bin": randomBytes(40_000),
  };
  for (let i = 0; i < count; i++) files[`notes/note-${i}.txt`] = `note ${i} of ${seed}\n`.repeat(i + 1);
  return files;
}

export async function writeFiles(sandboxes: SandboxProvider, sandboxId: string, files: FileSet): Promise<void> {
  for (const [file, content] of Object.entries(files)) await sandboxes.writeFile(sandboxId, file, content);
}

/** A running session whose local sandbox holds `files`. */
export async function createSessionWithFiles(
  runtime: Runtime,
  files: FileSet,
  input: { idleTimeoutMs?: number; createdAt?: number; hooks?: Partial<Session["hooks"]>; retention?: Partial<Session["retention"]> } = {},
): Promise<Session> {
  const info = await runtime.sandboxes.create({ template: "base" });
  await writeFiles(runtime.sandboxes, info.id, files);
  return runtime.store.createSession({
    ownerId: "alice",
    provider: runtime.sandboxes.kind,
    template: "base",
    idleTimeoutMs: input.idleTimeoutMs ?? runtime.config.lifecycle.idleTimeoutMs,
    hooks: input.hooks,
    retention: input.retention,
    sandboxId: info.id,
    now: input.createdAt,
  });
}

export const sha256 = (content: string | Buffer) => createHash("sha256").update(content).digest("hex");

/** Expected hashes of a file set. */
export function fingerprint(files: FileSet): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([file, content]) => [file, sha256(content)]));
}

/** path → SHA-256 of every file in a sandbox's workspace. */
export async function sandboxFingerprint(sandboxes: SandboxProvider, sandboxId: string): Promise<Record<string, string>> {
  const entries = await sandboxes.scan(sandboxId);
  const files = entries.filter((e) => e.type === "file").map((e) => e.path);
  return sandboxes.hashFiles(sandboxId, files);
}

/** Files of `expected` missing or different in `actual` (an empty list means nothing was lost). */
export function lostFiles(expected: Record<string, string>, actual: Record<string, string>): string[] {
  return Object.keys(expected).filter((file) => actual[file] !== expected[file]);
}

let requestCounter = 0;
/**
 * Sends one event to the embedded engine and waits for the one run it starts to end. A run still
 * going after `timeoutMs` fails the test with where it is (its steps so far and the running
 * step's progress) instead of leaving vitest's timeout to report a bare hang.
 */
export async function runWorkflow(rt: WorkflowRuntime, event: TorporEvent, { timeoutMs = 120_000 } = {}): Promise<RunRecord> {
  const engine = rt.runtime.engine!;
  const { ids } = await engine.send(event);
  if (ids.length !== 1) throw new Error(`expected one run for ${event.name}, got ${ids.length}`);
  const runId = ids[0]!;
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void rt.runtime.store.getRun(runId).then(
        (run) => {
          const steps = (run?.steps ?? []).map((st) => `${st.name} (${st.status})`).join(", ");
          reject(new Error(`${event.name} run ${runId} still ${run?.status ?? "unknown"} after ${timeoutMs} ms; steps: ${steps || "none"}; progress: ${JSON.stringify(run?.progress ?? null)}`));
        },
        (error: unknown) => reject(new Error(`${event.name} run ${runId} still going after ${timeoutMs} ms (its record: ${String(error)})`)),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([engine.waitFor(runId), stuck]);
  } finally {
    clearTimeout(timer);
  }
}

export const requestId = (prefix = "req") => `${prefix}-${process.pid}-${++requestCounter}-${Date.now()}`;

/** Polls until `accept` holds (or fails with what it last saw); never a fixed sleep. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  { timeoutMs = 45_000, everyMs = 50 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; last saw ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function stepOf(record: RunRecord, name: string): StepRecord {
  const step = record.steps.find((s) => s.name === name);
  expect(step, `step '${name}' in ${record.steps.map((s) => s.name).join(", ")}`).toBeDefined();
  return step!;
}

/**
 * The step failed on an error that was not retried: its last attempt's error is the first of its
 * kind. Earlier attempts may have met a transient fault (a reset connection on a loaded machine);
 * the journal lists why each one failed, "<error> (earlier: attempt 1: …; attempt 2: …)".
 */
export function expectFailedWithoutRetry(record: RunRecord, name: string, problem?: RegExp): StepRecord {
  const step = stepOf(record, name);
  expect(step.status).toBe("failed");
  const [last, history = ""] = step.error!.split(/ \(earlier: (?=attempt 1: )/);
  if (problem) expect(last).toMatch(problem);
  const earlier = history ? history.slice(0, -1).split(/;? ?attempt \d+: /).filter(Boolean) : [];
  expect(earlier, `attempts of '${name}': ${step.error}`).toHaveLength(step.attempts - 1);
  for (const message of earlier) expect(message, `'${name}' retried after its final error`).not.toBe(last);
  if (problem) for (const message of earlier) expect(message).not.toMatch(problem);
  return step;
}

/**
 * Kills every sandbox a provider still has: their processes (a start command that never ends)
 * would outlive the test and its deleted folder otherwise.
 */
export async function killSandboxes(sandboxes: SandboxProvider): Promise<void> {
  const left = (await sandboxes.findSandboxes?.({}).catch(() => [])) ?? [];
  await Promise.all(left.map((s) => sandboxes.kill(s.id).catch(() => undefined)));
}
