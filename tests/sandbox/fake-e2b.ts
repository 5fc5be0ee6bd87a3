/**
 * A stand-in for the e2b SDK's Sandbox class, for `vi.mock("e2b")`: every SDK method the adapter
 * calls is a vi.fn (so tests assert the arguments), and behind them sits a small but real
 * "sandbox": a temp folder per sandbox, with commands run by bash under bubblewrap with that
 * folder's workspace at /workspace and its own /tmp — so the adapter's find/tar/sha256sum scripts
 * run for real. Paused sandboxes have their background processes SIGSTOPped, like E2B's snapshot.
 * SDK errors are the real classes from the e2b package.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { watch } from "node:fs";
import fs from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { vi } from "vitest";

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
}

const vms = new Map<string, Vm>();
let counter = 0;

function host(vm: Vm, p: string): string {
  if (p === "/workspace" || p.startsWith("/workspace/")) return path.join(vm.dir, p);
  if (p.startsWith("/tmp/")) return path.join(vm.dir, p);
  throw new Error(`fake e2b: path outside /workspace and /tmp: ${p}`);
}

function live(id: string): Vm {
  const vm = vms.get(id);
  if (!vm || vm.state === "killed") throw new SandboxNotFoundError(`Sandbox ${id} not found`);
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
  private vm(): Vm {
    const vm = live(this.sandboxId);
    if (vm.state === "paused") throw new SandboxError(`Sandbox ${this.sandboxId} is paused (stale handle)`);
    return vm;
  }

  static create = vi.fn(async (template: string, opts: { envs?: Record<string, string>; metadata?: Record<string, string>; timeoutMs?: number; apiKey?: string }) => {
    const id = `fake${(++counter).toString().padStart(4, "0")}`;
    const dir = await fs.mkdtemp(path.join(tmpdir(), `fake-e2b-${id}-`));
    for (const sub of ["workspace", "tmp", "etc"]) await fs.mkdir(path.join(dir, sub));
    await fs.writeFile(path.join(dir, "etc", "passwd"), "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000:user:/home/user:/bin/bash\n");
    await fs.writeFile(path.join(dir, "etc", "group"), "root:x:0:\nuser:x:1000:\n");
    vms.set(id, { id, dir, template, metadata: opts.metadata ?? {}, envs: opts.envs ?? {}, state: "running", background: [], startedAt: new Date() });
    return new FakeSandbox(id);
  });

  static connect = vi.fn(async (id: string, _opts?: unknown) => {
    const vm = live(id);
    if (vm.state === "paused") {
      signalAll(vm, "SIGCONT");
      vm.state = "running";
    }
    return new FakeSandbox(id);
  });

  static pause = vi.fn(async (id: string, _opts?: unknown) => {
    const vm = live(id);
    if (vm.state === "paused") return false;
    signalAll(vm, "SIGSTOP");
    vm.state = "paused";
    return true;
  });

  static kill = vi.fn(async (id: string, _opts?: unknown) => {
    const vm = vms.get(id);
    if (!vm || vm.state === "killed") return false;
    signalAll(vm, "SIGKILL");
    vm.state = "killed";
    await fs.rm(vm.dir, { recursive: true, force: true });
    return true;
  });

  static getInfo = vi.fn(async (id: string, _opts?: unknown) => {
    const vm = live(id);
    return { sandboxId: id, templateId: `tpl-${vm.template}`, name: vm.template, metadata: vm.metadata, startedAt: vm.startedAt, endAt: new Date(), state: vm.state, cpuCount: 2, memoryMB: 512 };
  });

  getInfo = vi.fn(async () => FakeSandbox.getInfo(this.sandboxId));

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

/** Kills every fake sandbox still running (afterAll). */
export async function cleanUpFakes(): Promise<void> {
  for (const id of vms.keys()) await FakeSandbox.kill(id);
}
