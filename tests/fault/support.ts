/**
 * Shared by the fault scenarios: the counts printed at the end of the suite, the worker process
 * (tests/fault/harness.ts bundled once with esbuild, started with node), and the two checks every
 * scenario ends with — the session's files where they should be, and a restore of the latest
 * committed checkpoint reproducing every file.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { localDirTarget } from "../../src/checkpoint";
import type { Runtime } from "../../src/runtime";
import { lostFiles, sandboxFingerprint } from "../helpers/runtime";

export const counts = { runs: 0, injectedFaults: 0, filesChecked: 0, filesLost: 0, scenarios: 0 };

const bundles = new Map<string, Promise<string>>();

/**
 * Bundles a process entry point once per test process (dependencies stay external). The bundle
 * goes inside the repository so that its bare imports resolve from node_modules (ESM ignores
 * NODE_PATH); node_modules/.cache is where tools keep such files.
 */
export function bundle(entry: string, name: string): Promise<string> {
  let built = bundles.get(entry);
  if (!built) {
    const outfile = path.resolve("node_modules/.cache/torpor-fault", `${name}-${process.pid}.mjs`);
    built = build({
      entryPoints: [path.resolve(entry)],
      outfile,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      packages: "external",
      absWorkingDir: process.cwd(),
      logLevel: "warning",
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    }).then(() => outfile);
    bundles.set(entry, built);
  }
  return built;
}

export const harnessScript = () => bundle("tests/fault/harness.ts", "harness");

export interface HarnessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** effects: per step, the store writes and sandbox calls made inside it (harness.ts). */
  output: { ids: string[]; steps: number; puts: number; effects?: Record<string, string[]> } | null;
  stderr: string;
}

export async function runHarness(args: Record<string, unknown>): Promise<HarnessExit> {
  const script = await harnessScript();
  const child = spawn(process.execPath, ["--openssl-legacy-provider", script, JSON.stringify(args)], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("exit", (c, s) => resolve([c, s])),
  );
  const line = stdout.trim().split("\n").pop();
  return { code, signal, output: line?.startsWith("{") ? JSON.parse(line) : null, stderr };
}

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Restores the session's latest committed checkpoint into a temp folder and compares every file. */
export async function checkLatestCheckpoint(runtime: Runtime, sessionId: string, expected: Record<string, string>): Promise<string[]> {
  const session = await runtime.store.getSession(sessionId);
  const record = session.latestCheckpointId ? await runtime.store.getCheckpoint(session.latestCheckpointId) : null;
  if (!record || record.status !== "committed") return Object.keys(expected);
  const dir = mkdtempSync(path.join(os.tmpdir(), "torpor-restore-check-"));
  try {
    await runtime.checkpoints.restore(record.id, localDirTarget(dir));
    const actual: Record<string, string> = {};
    for (const file of Object.keys(expected)) {
      try {
        actual[file] = sha(path.join(dir, file));
      } catch {
        // missing: counted as lost below
      }
    }
    return tally(lostFiles(expected, actual), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compares the files in the session's current sandbox with what it should hold. */
export async function checkSandbox(runtime: Runtime, sessionId: string, expected: Record<string, string>): Promise<string[]> {
  const session = await runtime.store.getSession(sessionId);
  if (!session.sandboxId) return tally(Object.keys(expected), expected);
  return tally(lostFiles(expected, await sandboxFingerprint(runtime.sandboxes, session.sandboxId)), expected);
}

function tally(lost: string[], expected: Record<string, string>): string[] {
  counts.filesChecked += Object.keys(expected).length;
  counts.filesLost += lost.length;
  return lost;
}

export function printCounts(): void {
  const line = `fault suite: ${counts.scenarios} scenarios, ${counts.runs} workflow runs, ${counts.injectedFaults} injected faults, ${counts.filesChecked} files checked, ${counts.filesLost} files lost`;
  console.log(`\n${"=".repeat(line.length)}\n${line}\n${"=".repeat(line.length)}`);
}
