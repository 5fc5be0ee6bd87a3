/**
 * Starting processes in a local sandbox: under bubblewrap when the provider has it, else as a
 * plain process group in the workspace folder (NOT isolated; the provider says so loudly).
 *
 * Every process is spawned detached (its own process group) so that pause, resume and kill reach
 * all its descendants and so that it survives a restart of Torpor. Foreground runs collect
 * output and end with a TIMEOUT error (after killing the whole group) when they run too long.
 */
import { execFile, spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { promisify } from "node:util";
import { constants as os } from "node:os";
import { SandboxError } from "../../core/errors";
import { WORKSPACE_DIR } from "../types";
import { bwrapArgs, dropsToSandboxUid, handOverArgs, SANDBOX_HOME, sandboxEnv } from "./bwrap";
import { procStat, signalSandbox, type ProcessRecord } from "./processes";
import type { LocalState, SandboxDirs } from "./state";

const OUTPUT_LIMIT = 16 * 1024 * 1024;

export interface SpawnSpec {
  bwrap: string | null;
  state: LocalState;
  dirs: SandboxDirs;
  command: string;
  /** Workspace-relative, already checked. */
  cwd: string;
  env?: Record<string, string>;
  stdio: StdioOptions;
}

export function spawnInSandbox(spec: SpawnSpec): ChildProcess {
  const { state, dirs } = spec;
  if (spec.bwrap !== null && state.isolated) {
    const args = bwrapArgs(dirs, spec.command, { cwd: spec.cwd });
    return spawn(spec.bwrap, args, {
      env: sandboxEnv(SANDBOX_HOME, state.env, spec.env) as NodeJS.ProcessEnv,
      detached: true,
      stdio: spec.stdio,
    });
  }
  const cwd = spec.cwd === "" ? dirs.workspace : `${dirs.workspace}/${spec.cwd}`;
  return spawn("/bin/sh", ["-c", spec.command], {
    cwd,
    env: sandboxEnv(dirs.home, { TMPDIR: dirs.tmp }, state.env, spec.env) as NodeJS.ProcessEnv,
    detached: true,
    stdio: spec.stdio,
  });
}

/** The record of a just-spawned process (its pid and start time). */
export function recordOf(child: ChildProcess, command: string, kind: ProcessRecord["kind"]): ProcessRecord {
  if (child.pid === undefined) throw new SandboxError("PROVIDER", `Could not start '${command}' in the sandbox`);
  return { pid: child.pid, startTime: procStat(child.pid)?.startTime ?? "", command, kind };
}

export interface ForegroundResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * How long output is still collected after the command exits. A process it left running (`(srv &)`)
 * may hold the pipes for ever: the exec ends with the command, not with its leftovers, whose later
 * output is read and dropped (never a closed pipe that would kill them with SIGPIPE).
 */
const DRAIN_AFTER_EXIT_MS = 250;

/**
 * Runs to completion; `track` registers the running process (so pause and kill reach it) and
 * returns its undo, which the provider may turn into adopting what the command left running.
 */
export async function runForeground(
  spec: Omit<SpawnSpec, "stdio">,
  timeoutMs: number | undefined,
  track: (record: ProcessRecord) => () => void | Promise<void>,
): Promise<ForegroundResult> {
  const child = spawnInSandbox({ ...spec, stdio: ["ignore", "pipe", "pipe"] });
  const record = recordOf(child, spec.command, "exec");
  const untrack = track(record);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let size = 0;
  const collect = (into: Buffer[]) => (chunk: Buffer) => {
    size += chunk.length;
    if (size <= OUTPUT_LIMIT) into.push(chunk);
  };
  child.stdout!.on("data", collect(out));
  child.stderr!.on("data", collect(err));
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          signalSandbox([record], "SIGKILL");
        }, timeoutMs);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once("error", (error) =>
        reject(new SandboxError("PROVIDER", `Could not run '${spec.command}' in sandbox '${spec.state.id}'`, { cause: error })),
      );
      child.once("exit", (code, signal) => {
        const drained = new Promise<void>((r) => child.once("close", () => r()));
        const late = new Promise<void>((r) => setTimeout(r, DRAIN_AFTER_EXIT_MS).unref());
        void Promise.race([drained, late]).then(() => {
          for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
          resolve({ code, signal });
        });
      });
    });
    const stdout = Buffer.concat(out).toString("utf8");
    const stderr = Buffer.concat(err).toString("utf8");
    if (timedOut) {
      throw new SandboxError("TIMEOUT", `Command timed out after ${timeoutMs} ms: ${spec.command}`, {
        details: { sandboxId: spec.state.id, command: spec.command, stdout: stdout.slice(-4096), stderr: stderr.slice(-4096) },
      });
    }
    return { exitCode: code ?? 128 + (signal ? os.signals[signal] : 0), stdout, stderr };
  } finally {
    if (timer) clearTimeout(timer);
    await untrack();
  }
}

/**
 * Gives what Torpor just wrote as root (`paths`, workspace-relative, with their folders; or the
 * whole tree after a restore) to the sandbox's uid, so that its processes can change it. Only
 * when sandbox processes drop from root to SANDBOX_UID (see ./bwrap); a failure is logged, not
 * thrown: the write itself succeeded.
 */
export async function handOver(spec: { bwrap: string | null; state: LocalState; dirs: SandboxDirs }, paths: string[] | "all", log: (msg: string) => void): Promise<void> {
  if (spec.bwrap === null || !spec.state.isolated || !dropsToSandboxUid()) return;
  const targets = paths === "all" ? "all" : [...new Set(paths.flatMap(withFolders))];
  if (targets !== "all" && targets.length === 0) return;
  try {
    await promisify(execFile)(spec.bwrap, handOverArgs(spec.dirs.workspace, targets), { env: {} as NodeJS.ProcessEnv, maxBuffer: OUTPUT_LIMIT });
  } catch (error) {
    log(`[torpor] giving files of sandbox ${spec.state.id} to its uid failed: ${(error as Error).message.slice(0, 500)}`);
  }
}

function withFolders(relative: string): string[] {
  const parts = relative.split("/").filter((p) => p !== "");
  return parts.map((_, i) => `${WORKSPACE_DIR}/${parts.slice(0, i + 1).join("/")}`);
}
