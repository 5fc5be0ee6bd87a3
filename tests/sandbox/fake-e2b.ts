/**
 * A stand-in for the e2b SDK's Sandbox class, for `vi.mock("e2b")`: every SDK method the adapter
 * calls is a vi.fn (so tests assert the arguments), and behind them sits a small but real
 * "sandbox": a temp folder per sandbox, with commands run by bash under bubblewrap with that
 * folder's workspace at /workspace and its own /tmp — so the adapter's find/tar/sha256sum scripts
 * run for real. Paused sandboxes have their background processes SIGSTOPped, like E2B's snapshot.
 * SDK errors are the real classes from the e2b package.
 *
 * Lifetime, as E2B 2.51 has it (see STACK-NOTES): each sandbox has a deadline on the double's
 * clock (`setFakeClock`, Date.now by default), `timeoutMs` (default 5 min) after create and after
 * each connect (a connect to a running sandbox only moves it later); `setTimeout` moves it either
 * way. At the deadline, or when its continuous runtime reaches the tier's cap (`fakeTier`, Hobby
 * 1 h: create/connect asking for more are refused, setTimeout is clamped), `lifecycle.onTimeout`
 * applies: "kill" (the default) or "pause". Time is checked on every call. Afterwards a call
 * through a kept handle fails with TimeoutError "likely due to sandbox timeout" (E2B's proxy answers
 * 502), while connect, getInfo, setTimeout and pause of a killed sandbox throw SandboxNotFoundError.
 * `fakeTimeouts` records what E2B did on its own.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { watch } from "node:fs";
import fs from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { vi } from "vitest";
import { cpuSecondsOf } from "../../src/sandbox/local/cpu";
import { procStat, sandboxMembers, type ProcessRecord } from "../../src/sandbox/local/processes";

// The real error classes (this module is loaded from inside vi.mock("e2b")'s factory).
const { CommandExitError, FileNotFoundError, FilesystemEventType, SandboxError, SandboxNotFoundError, TimeoutError } =
  await vi.importActual<typeof import("e2b")>("e2b");
type FilesystemEventType = import("e2b").FilesystemEventType;

interface Vm {
  id: string;
  dir: string;
  template: string;
  metadata: Record<string, string>;
  envs: Record<string, string>;
  state: "running" | "paused" | "killed";
  background: ChildProcess[];
  startedAt: Date;
  /** When E2B applies onTimeout (the double's clock). */
  deadline: number;
  /** Start of the current continuous run (create or resume): the tier's cap counts from here. */
  runningSince: number;
  onTimeout: "kill" | "pause";
}

export const DEFAULT_TIMEOUT_MS = 300_000;
/** How long (real time) getMetrics watches the sandbox's processes to tell its CPU load. */
const METRICS_PROBE_MS = 300;
const recordOfPid = (pid: number): ProcessRecord => ({ pid, startTime: procStat(pid)?.startTime ?? "", command: "", kind: "background" });
/** The tier's cap on continuous runtime (Hobby: 1 h; Pro: 24 h). Tests may change it. */
export const fakeTier = { maxRuntimeMs: 3_600_000 };
/** What E2B did on its own when a sandbox's time ran out. */
export const fakeTimeouts: { sandboxId: string; at: number; action: "kill" | "pause"; cause: "timeout" | "runtime cap" }[] = [];

let clock: () => number = () => Date.now();
/** The double's clock (simulated time); `undefined` restores Date.now. */
export function setFakeClock(now: (() => number) | undefined): void {
  clock = now ?? (() => Date.now());
}

const vms = new Map<string, Vm>();
let counter = 0;

type OnTimeout = "kill" | "pause" | { action: "kill" | "pause"; keepMemory?: boolean };

function checkTimeout(timeoutMs: number | undefined): number {
  const ms = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // The API refuses a timeout past the tier's cap on create and connect (400).
  if (ms > fakeTier.maxRuntimeMs) throw new SandboxError(`400: Timeout cannot be greater than ${fakeTier.maxRuntimeMs / 3_600_000} hours`);
  return ms;
}

/** Applies onTimeout to a running sandbox whose deadline or runtime cap has passed. */
function expire(vm: Vm): void {
  if (vm.state !== "running") return;
  const now = clock();
  const capAt = vm.runningSince + fakeTier.maxRuntimeMs;
  const endAt = Math.min(vm.deadline, capAt);
  if (now < endAt) return;
  fakeTimeouts.push({ sandboxId: vm.id, at: endAt, action: vm.onTimeout, cause: capAt <= vm.deadline ? "runtime cap" : "timeout" });
  if (vm.onTimeout === "pause") {
    signalAll(vm, "SIGSTOP");
    vm.state = "paused";
  } else {
    signalAll(vm, "SIGKILL");
    vm.state = "killed";
  }
}

function sandboxTimeout(id: string): Error {
  // What the SDK makes of the proxy's 502 for a sandbox that is not running (formatSandboxTimeoutError).
  return new TimeoutError(
    `[unavailable] The sandbox ${id} was not found: This error is likely due to sandbox timeout. You can modify the sandbox timeout by passing 'timeoutMs' when starting the sandbox or calling '.setTimeout' on the sandbox with the desired timeout.`,
  );
}

function host(vm: Vm, p: string): string {
  if (p === "/workspace" || p.startsWith("/workspace/")) return path.join(vm.dir, p);
  if (p.startsWith("/tmp/")) return path.join(vm.dir, p);
  throw new Error(`fake e2b: path outside /workspace and /tmp: ${p}`);
}

function live(id: string, message = `Sandbox ${id} not found`): Vm {
  const vm = vms.get(id);
  if (vm) expire(vm);
  if (!vm || vm.state === "killed") throw new SandboxNotFoundError(message);
  return vm;
}

function spawnIn(vm: Vm, cmd: string, opts: { cwd?: string; envs?: Record<string, string>; user?: string }): ChildProcess {
  const args = [
    "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
    "--symlink", "usr/lib64", "/lib64", "--ro-bind", path.join(vm.dir, "etc"), "/etc", "--proc", "/proc", "--dev", "/dev",
    "--bind", path.join(vm.dir, "workspace"), "/workspace", "--bind", path.join(vm.dir, "tmp"), "/tmp",
    "--chdir", opts.cwd ?? "/", "--", "/bin/bash", "-c",
    // Everything runs as one user here, and uid 1000 is not mapped in bwrap's namespace: chown is moot.
    opts.user === "root" ? `chown() { :; }; ${cmd}` : cmd,
  ];
  return spawn("bwrap", args, { env: { PATH: "/usr/bin:/bin", ...vm.envs, ...(opts.envs ?? {}) } as unknown as NodeJS.ProcessEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
}

function collect(child: ChildProcess): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  return new Promise((resolve) => child.once("close", (code) => resolve({ exitCode: code ?? 137, stdout, stderr })));
}

function signalAll(vm: Vm, sig: NodeJS.Signals): void {
  for (const child of vm.background) {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  }
}

export class FakeSandbox {
  readonly sandboxId: string;
  constructor(id: string) {
    this.sandboxId = id;
  }
  /** The sandbox behind a kept handle: a killed or paused one answers as E2B's proxy does. */
  private vm(): Vm {
    const vm = vms.get(this.sandboxId);
    if (vm) expire(vm);
    if (!vm || vm.state !== "running") throw sandboxTimeout(this.sandboxId);
    return vm;
  }

  static create = vi.fn(async (template: string, opts: { envs?: Record<string, string>; metadata?: Record<string, string>; timeoutMs?: number; apiKey?: string; lifecycle?: { onTimeout: OnTimeout; autoResume?: boolean } }) => {
    const timeoutMs = checkTimeout(opts.timeoutMs);
    const onTimeout = opts.lifecycle?.onTimeout ?? "kill";
    const id = `fake${(++counter).toString().padStart(4, "0")}`;
    const dir = await fs.mkdtemp(path.join(tmpdir(), `fake-e2b-${id}-`));
    for (const sub of ["workspace", "tmp", "etc"]) await fs.mkdir(path.join(dir, sub));
    await fs.writeFile(path.join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000:user:/home/user:/bin/bash\n");
    await fs.writeFile(path.join(dir, "etc", "group"), "root:x:0:\nuser:x:1000:\n");
    const now = clock();
    vms.set(id, {
      id, dir, template, metadata: opts.metadata ?? {}, envs: opts.envs ?? {}, state: "running", background: [], startedAt: new Date(now),
      deadline: now + timeoutMs, runningSince: now, onTimeout: typeof onTimeout === "string" ? onTimeout : onTimeout.action,
    });
    return new FakeSandbox(id);
  });

  static connect = vi.fn(async (id: string, opts?: { timeoutMs?: number }) => {
    const vm = live(id, `Paused sandbox ${id} not found`);
    const timeoutMs = checkTimeout(opts?.timeoutMs);
    const now = clock();
    if (vm.state === "paused") {
      signalAll(vm, "SIGCONT");
      vm.state = "running";
      vm.runningSince = now;
      vm.startedAt = new Date(now);
      vm.deadline = now + timeoutMs;
    } else {
      // "For running sandboxes, the timeout will update only if the new timeout is longer."
      vm.deadline = Math.max(vm.deadline, now + timeoutMs);
    }
    return new FakeSandbox(id);
  });

  static setTimeout = vi.fn(async (id: string, timeoutMs: number, _opts?: unknown) => {
    const vm = live(id);
    // Only a running sandbox has a timeout: E2B answers 404 for a paused one.
    if (vm.state !== "running") throw new SandboxNotFoundError(`Sandbox ${id} not found`);
    const now = clock();
    vm.deadline = Math.min(now + timeoutMs, vm.runningSince + fakeTier.maxRuntimeMs);
  });

  static list = vi.fn((opts: { query?: { metadata?: Record<string, string>; state?: ("running" | "paused")[] } } = {}) => {
    let done = false;
    return {
      get hasNext() {
        return !done;
      },
      nextItems: async () => {
        done = true;
        const states = opts.query?.state ?? ["running", "paused"];
        const wanted = Object.entries(opts.query?.metadata ?? {});
        const found = [];
        for (const vm of vms.values()) {
          expire(vm);
          if (vm.state === "killed" || !states.includes(vm.state)) continue;
          if (!wanted.every(([k, v]) => vm.metadata[k] === v)) continue;
          found.push(FakeSandbox.infoOf(vm));
        }
        return found;
      },
    };
  });

  private static infoOf(vm: Vm) {
    return {
      sandboxId: vm.id, templateId: `tpl-${vm.template}`, name: vm.template, metadata: vm.metadata, startedAt: vm.startedAt,
      endAt: new Date(vm.deadline), state: vm.state as "running" | "paused", cpuCount: 2, memoryMB: 512,
      lifecycle: { onTimeout: vm.onTimeout, autoResume: false },
    };
  }

  static pause = vi.fn(async (id: string, _opts?: unknown) => {
    const vm = live(id);
    if (vm.state === "paused") return false;
    signalAll(vm, "SIGSTOP");
    vm.state = "paused";
    return true;
  });

  static kill = vi.fn(async (id: string, _opts?: unknown) => {
    const vm = vms.get(id);
    if (vm) expire(vm);
    if (!vm || vm.state === "killed") return false;
    signalAll(vm, "SIGKILL");
    vm.state = "killed";
    await fs.rm(vm.dir, { recursive: true, force: true });
    return true;
  });

  static getInfo = vi.fn(async (id: string, _opts?: unknown) => FakeSandbox.infoOf(live(id)));

  /**
   * E2B's metrics: a sample every 5 s (the double's clock) while the sandbox runs, from its
   * current run's start, within [start, end]; cpuCount 2 (as getInfo says). The CPU figure is
   * real: the CPU time the sandbox's processes (bwrap and everything in its pid namespace) take
   * over a short real probe, so a busy loop reads busy and `sleep` reads ~0. A paused sandbox has
   * no new samples; a killed one is not found (the SDK's 404 → SandboxNotFoundError).
   */
  static getMetrics = vi.fn(async (id: string, opts: { start?: Date; end?: Date } = {}) => {
    const vm = live(id);
    if (vm.state !== "running") return [];
    const now = clock();
    const from = Math.max(vm.runningSince, opts.start?.getTime() ?? vm.runningSince);
    const to = Math.min(now, opts.end?.getTime() ?? now);
    const members = () => sandboxMembers(vm.background.flatMap((c) => (c.pid ? [recordOfPid(c.pid)] : [])));
    const before = cpuSecondsOf(members());
    const started = Date.now();
    await new Promise((r) => setTimeout(r, METRICS_PROBE_MS));
    const cores = Math.max(0, cpuSecondsOf(members()) - before) / ((Date.now() - started) / 1000);
    const samples = [];
    for (let t = Math.floor(from / 5000) * 5000 + 5000; t <= to; t += 5000) {
      samples.push({ timestamp: new Date(t), cpuUsedPct: Math.min(100, (cores / 2) * 100), cpuCount: 2, memUsed: 0, memTotal: 512 * 1024 * 1024, memCache: 0, diskUsed: 0, diskTotal: 0 });
    }
    return samples;
  });

  getMetrics = vi.fn(async (opts?: { start?: Date; end?: Date }) => FakeSandbox.getMetrics(this.sandboxId, opts));

  getInfo = vi.fn(async () => FakeSandbox.getInfo(this.sandboxId));

  setTimeout = vi.fn(async (timeoutMs: number) => FakeSandbox.setTimeout(this.sandboxId, timeoutMs));

  commands = {
    run: vi.fn(async (cmd: string, opts: { background?: boolean; cwd?: string; envs?: Record<string, string>; timeoutMs?: number; user?: string } = {}) => {
      const vm = this.vm();
      const child = spawnIn(vm, cmd, opts);
      const done = collect(child);
      if (opts.background) {
        vm.background.push(child);
        return {
          pid: child.pid,
          disconnect: vi.fn(async () => undefined),
          wait: async () => {
            const r = await done;
            if (r.exitCode !== 0) throw new CommandExitError({ ...r, error: `exit status ${r.exitCode}` });
            return r;
          },
        };
      }
      let timedOut = false;
      const timer = opts.timeoutMs ? setTimeout(() => ((timedOut = true), process.kill(-child.pid!, "SIGKILL")), opts.timeoutMs) : undefined;
      const r = await done;
      clearTimeout(timer);
      if (timedOut) throw new TimeoutError("[deadline_exceeded] command timed out");
      if (r.exitCode !== 0) throw new CommandExitError({ ...r, error: `exit status ${r.exitCode}` });
      return r;
    }),
  };

  files = {
    read: vi.fn(async (p: string, opts: { format?: string } = {}) => {
      const file = host(this.vm(), p);
      const st = await fs.stat(file).catch(() => null);
      if (!st?.isFile()) throw new FileNotFoundError(`File ${p} not found`);
      if (opts.format === "stream") return Readable.toWeb((await fs.open(file)).createReadStream());
      const bytes = await fs.readFile(file);
      return opts.format === "bytes" ? new Uint8Array(bytes) : bytes.toString("utf8");
    }),
    write: vi.fn(async (p: string, data: string | ArrayBuffer | WebReadableStream) => {
      const file = host(this.vm(), p);
      await fs.mkdir(path.dirname(file), { recursive: true });
      if (typeof data === "string") await fs.writeFile(file, data);
      else if (data instanceof ArrayBuffer) await fs.writeFile(file, new Uint8Array(data));
      else await fs.writeFile(file, Readable.fromWeb(data));
      return { name: path.basename(p), path: p };
    }),
    remove: vi.fn(async (p: string) => {
      await fs.rm(host(this.vm(), p), { force: true, recursive: true });
    }),
    watchDir: vi.fn(async (p: string, onEvent: (e: { name: string; type: FilesystemEventType }) => void, _opts?: unknown) => {
      const dir = host(this.vm(), p);
      const watcher = watch(dir, { recursive: true }, (kind, name) => {
        if (name === null) return;
        void fs.lstat(path.join(dir, name)).then(
          () => onEvent({ name, type: kind === "rename" ? FilesystemEventType.CREATE : FilesystemEventType.WRITE }),
          () => onEvent({ name, type: FilesystemEventType.REMOVE }),
        );
      });
      return { stop: vi.fn(async () => watcher.close()) };
    }),
  };
}

/** Kills every fake sandbox still running and removes every folder, E2B's timeout kills too (afterAll). */
export async function cleanUpFakes(): Promise<void> {
  for (const vm of vms.values()) {
    signalAll(vm, "SIGKILL");
    vm.state = "killed";
    await fs.rm(vm.dir, { recursive: true, force: true });
  }
}

/** The state of a fake sandbox as E2B would report it now ("killed" after a kill or a timeout kill). */
export function fakeState(id: string): "running" | "paused" | "killed" | undefined {
  const vm = vms.get(id);
  if (vm) expire(vm);
  return vm?.state;
}
