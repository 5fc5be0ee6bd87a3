/**
 * The local SandboxProvider (the embedded default): a sandbox is a folder under `root` plus the
 * processes started in it, isolated with bubblewrap (see ./bwrap).
 *
 * - pause: SIGSTOP to every process of the sandbox (its whole pid namespace, repeated to a fixed
 *   point, see freezeSandbox); connect: SIGCONT. Files stay readable from
 *   the host while paused (scan, transfer, hash work); exec is refused until connect. A sandbox
 *   that cannot be frozen within `freezeTimeoutMs` is thawed and the pause fails.
 * - What a command leaves running (`(server &)`) belongs to the sandbox: a foreground exec that
 *   leaves processes behind returns with its command and has them recorded (adopt), so that
 *   pause, kill and a restarted Torpor reach them (./processes: groups outlive their leaders).
 * - kill: SIGKILL to every process, then the workspace, /tmp, home and logs go to the trash
 *   (./trash: renamed at once, deleted later in batches, off the resume's path); a
 *   tombstone state file remains so that the other methods say SANDBOX_GONE (not NOT_FOUND).
 *   status and kill treat a well-formed id without any record (folder wiped) as gone.
 * - Isolation is required unless turned off by name: with "required" (the default; "auto" is a
 *   deprecated alias of it) and bwrap missing or unusable, create() is refused with how to fix
 *   it; the other methods still work on sandboxes that exist. Only "off" runs sandboxes
 *   unisolated, and the log and SandboxInfo (isolated: false, warnings) say so. `network: true`
 *   is refused under bubblewrap: the host's network would reach the app's and the object store's
 *   loopback ports. State lives on disk, so a restarted Torpor finds its sandboxes again.
 * - A start command that exits within `startGraceMs` fails create() with its output (and the
 *   half-made sandbox is removed); a later exit shows up as a warning in connect()'s info.
 *
 * Why this file is one closure of ~420 lines: every method shares the per-sandbox serial locks,
 * the exec and watcher registries, the loans and the write counter the trash waits on. What needs
 * none of them lives beside it: tar, bwrap, spawn, processes, state, trash, cpu, watch, loan; the
 * host-side reads and writes of the workspace are src/localfs.
 */
import { openSync, closeSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { isTorporError, SandboxError } from "../../core/errors";
import { hashFolderFiles, hostPathSync, readWorkspaceFile, scanFolder, workspaceInPlaceReads, writeWorkspaceFile } from "../../localfs";
import { workspacePath } from "../paths";
import type { CreateSandboxOptions, ExecOptions, ExecResult, SandboxInfo, SandboxProvider } from "../types";
import { BWRAP_HINT, dropsToSandboxUid, probeBubblewrap, SANDBOX_GID, SANDBOX_UID } from "./bwrap";
import { createCpuMeter } from "./cpu";
import { allGone, freezeSandbox, groupAlive, isAlive, sandboxMembers, signalSandbox, unfrozen, type ProcessRecord } from "./processes";
import { handOver, recordOf, runForeground, spawnInSandbox } from "./spawn";
import { isSandboxId, newSandboxId, readLiveState, readState, sandboxDirs, toInfo, writeState, type LocalState } from "./state";
import { exportFolderTar, importFolderTar, workspaceImporter } from "./tar";
import { lendQuietWorkspace } from "./loan";
import { createTrash, type TrashOptions } from "./trash";
import { watchFolder } from "./watch";

export interface LocalProviderOptions {
  root: string;
  /** "required" (isolation or no new sandbox) or "off" (NOT isolated); "auto" is a deprecated alias of "required". */
  bubblewrap: "auto" | "required" | "off";
  log?: (msg: string) => void;
  /** How long a start command must keep running for create() to succeed. Default 1000 ms. */
  startGraceMs?: number;
  /** How long pause may take to stop every process of a sandbox before it gives up. Default 5000 ms. */
  freezeTimeoutMs?: number;
  /** Debounce of the change feed. Default 200 ms. */
  watchDebounceMs?: number;
  /** Where bwrap is, when not in /usr/bin, /usr/local/bin or /bin. */
  bwrapPath?: string;
  /** The deferred deletion of killed sandboxes' folders (tests: a short age, no timer). */
  trash?: Pick<TrashOptions, "minAgeMs" | "batch" | "intervalMs">;
}

const NOT_ISOLATED = "NOT ISOLATED: this sandbox runs without bubblewrap; its processes can see and change the host";

export function createLocalProvider(options: LocalProviderOptions): SandboxProvider {
  const root = path.resolve(options.root);
  const log = options.log ?? ((msg: string) => console.warn(msg));
  const grace = options.startGraceMs ?? 1000;
  const freezeTimeoutMs = options.freezeTimeoutMs ?? 5000;
  let bwrap: string | null = null;
  const unisolatedReason = "bubblewrap is off (TORPOR_BWRAP=off)";
  /** Why create() is refused: isolation is required and bwrap cannot give it. */
  let refusal: string | null = null;
  if (options.bubblewrap !== "off") {
    const probe = probeBubblewrap(options.bwrapPath);
    bwrap = probe.path;
    if (bwrap === null) {
      refusal = `Local sandboxes need bubblewrap (TORPOR_BWRAP=required, the default) but it is unusable: ${probe.reason}; ${BWRAP_HINT}`;
      log(`[torpor] ERROR: no new local sandbox can be created. ${refusal}`);
    }
  } else {
    log(`[torpor] WARNING: local sandboxes are ${NOT_ISOLATED.slice(0, 12)}: ${unisolatedReason}`);
  }

  let writing = 0;
  /** Counts a restore's writes into a workspace: the trash waits while any runs. */
  async function writingInto<T>(fn: () => Promise<T>): Promise<T> {
    writing++;
    try {
      return await fn();
    } finally {
      writing--;
    }
  }
  const trash = createTrash({ root, log, busy: () => writing > 0, ...options.trash });

  const locks = new Map<string, Promise<unknown>>();
  const execs = new Map<string, Set<ProcessRecord>>();
  const watchers = new Map<string, Set<() => Promise<void>>>();
  /** Sandboxes whose workspace this process has lent out (lendQuietWorkspace). */
  const loans = new Set<string>();
  const cpu = createCpuMeter();

  function serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(() => undefined, () => undefined);
    locks.set(id, settled);
    void settled.then(() => locks.get(id) === settled && locks.delete(id));
    return next;
  }
  const recordsOf = (state: LocalState): ProcessRecord[] => [...state.processes, ...(execs.get(state.id) ?? [])];

  function describe(state: LocalState): SandboxInfo {
    const info = toInfo(state);
    const start = state.processes.find((p) => p.kind === "start");
    if (state.status !== "gone" && start && !isAlive(start)) {
      info.warnings = [...(info.warnings ?? []), `The start command is no longer running: ${start.command} (log: logs/start.log)`];
    }
    return info;
  }

  async function waitFor(done: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!done()) log(`[torpor] ${what} did not finish within 5 s`);
  }

  /** No process starts in a sandbox whose workspace is lent out: the loan relies on that. */
  function refuseWhileLent(state: LocalState): void {
    if (state.loan === "out") {
      throw new SandboxError("PROVIDER", `Sandbox '${state.id}' is being restored: no process can start in it until the restore ends`, {
        details: { sandboxId: state.id },
      });
    }
  }

  function adopt(id: string, record: ProcessRecord): Promise<void> {
    return serial(id, async () => {
      const state = await readLiveState(root, id);
      if (state.processes.some((p) => p.pid === record.pid && p.startTime === record.startTime)) return;
      state.processes.push({ ...record, kind: "background" });
      await writeState(root, state);
    });
  }

  async function startCommand(state: LocalState, command: string): Promise<void> {
    const dirs = sandboxDirs(root, state.id);
    const logFile = path.join(dirs.logs, "start.log");
    refuseWhileLent(state);
    if (state.processStarted !== true) {
      state.processStarted = true;
      await writeState(root, state);
    }
    const fd = openSync(logFile, "a");
    const child = spawnInSandbox({ bwrap, state, dirs, command, cwd: "", stdio: ["ignore", fd, fd] });
    closeSync(fd);
    // The grace period counts from the moment the process exists, not from the spawn call.
    const spawned = new Promise<void>((resolve) => child.once("spawn", resolve));
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null)));
      child.once("error", () => resolve(127));
    });
    state.processes.push(recordOf(child, command, "start"));
    await writeState(root, state);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = spawned.then(() => new Promise<"running">((r) => (timer = setTimeout(() => r("running"), grace))));
    const code = await Promise.race([exited, graceOver]);
    clearTimeout(timer);
    child.unref();
    if (code === "running") return;
    const output = (await fs.readFile(logFile, "utf8").catch(() => "")).slice(-4096);
    throw new SandboxError("PROVIDER", `The start command exited at once (code ${String(code)}): ${command}\n${output}`, {
      details: { sandboxId: state.id, exitCode: code, output },
    });
  }

  const provider: SandboxProvider = {
    kind: "local",
    supportsPause: true,
    readsWhilePaused: true,

    async create(opts: CreateSandboxOptions): Promise<SandboxInfo> {
      if (refusal !== null) throw new SandboxError("PROVIDER", refusal);
      if (bwrap !== null && opts.network) {
        throw new SandboxError(
          "PROVIDER",
          "The local provider gives sandboxes no network: the host's network would let sandbox processes reach the app's and the object store's ports on loopback. Use E2B for sandboxes that need network, or TORPOR_BWRAP=off (NOT isolated).",
        );
      }
      const id = newSandboxId();
      const dirs = sandboxDirs(root, id);
      // 0700: other local users never reach a sandbox's files, env or logs.
      await fs.mkdir(root, { recursive: true, mode: 0o700 });
      await fs.mkdir(dirs.dir, { mode: 0o700 });
      for (const dir of [dirs.workspace, dirs.tmp, dirs.home, dirs.logs]) await fs.mkdir(dir, { recursive: true, mode: 0o755 });
      await fs.chmod(dirs.tmp, 0o1777);
      // Sandbox processes run as SANDBOX_UID when Torpor is root: their folders must be theirs.
      if (bwrap !== null && dropsToSandboxUid()) for (const dir of [dirs.workspace, dirs.tmp, dirs.home]) await fs.chown(dir, SANDBOX_UID, SANDBOX_GID);
      const now = Date.now();
      const state: LocalState = {
        version: 1, id, template: opts.template, status: "running", isolated: bwrap !== null,
        network: opts.network ?? false, env: { ...(opts.env ?? {}) }, metadata: { ...(opts.metadata ?? {}) },
        startCommand: opts.startCommand ?? null, processes: [], processStarted: false,
        warnings: bwrap === null ? [`${NOT_ISOLATED} (${unisolatedReason})`] : [],
        createdAt: now, updatedAt: now,
      };
      await writeState(root, state);
      if (bwrap === null) log(`[torpor] WARNING: sandbox ${id} is ${NOT_ISOLATED.slice(0, 12)}: ${unisolatedReason}`);
      if (opts.startCommand) {
        try {
          await startCommand(state, opts.startCommand);
        } catch (error) {
          await provider.kill(id).catch((e: unknown) => log(`[torpor] cleanup of ${id} failed: ${String(e)}`));
          throw error;
        }
      }
      return describe(state);
    },

    connect: (id) =>
      serial(id, async () => {
        const state = await readLiveState(root, id);
        signalSandbox(recordsOf(state), "SIGCONT");
        state.status = "running";
        state.processes = state.processes.filter((p) => p.kind === "start" || groupAlive(p));
        await writeState(root, state);
        return describe(state);
      }),

    pause: (id) =>
      serial(id, async () => {
        const state = await readLiveState(root, id);
        const records = recordsOf(state);
        const { frozen } = await freezeSandbox(records, freezeTimeoutMs);
        if (!frozen) {
          // A half-frozen sandbox is no paused one: a checkpoint of it could miss what a process
          // still running writes afterwards, and archive would then kill that work. Thaw and refuse.
          const running = unfrozen(sandboxMembers(records));
          signalSandbox(records, "SIGCONT");
          throw new SandboxError("PROVIDER", `Sandbox '${id}' could not be paused: ${running.length} of its processes did not stop within ${freezeTimeoutMs} ms`, {
            details: { sandboxId: id, running: running.slice(0, 20) },
          });
        }
        state.status = "paused";
        await writeState(root, state);
      }),

    kill: (id) =>
      serial(id, async () => {
        const state = await readState(root, id).catch((error: unknown) => {
          // Idempotent, like E2B: a well-formed id without a record (its folder wiped) is already gone.
          if (isTorporError(error, "SANDBOX_NOT_FOUND") && isSandboxId(id)) return null;
          throw error;
        });
        if (state === null) return;
        cpu.forget(id);
        for (const stop of watchers.get(id) ?? []) await stop();
        const pids = signalSandbox(recordsOf(state), "SIGKILL");
        await waitFor(() => allGone(pids), `killing ${id}`);
        const dirs = sandboxDirs(root, id);
        // Deleted later, off the hot path (see ./trash): gone for the user at once.
        trash.put(id, { workspace: dirs.workspace, tmp: dirs.tmp, home: dirs.home, logs: dirs.logs });
        if (state.status === "gone" && state.processes.length === 0) return;
        state.status = "gone";
        state.processes = [];
        await writeState(root, state);
      }),

    async status(id) {
      try {
        return (await readState(root, id)).status;
      } catch (error) {
        // A record wiped with its folder cannot be told from one never made: answer "gone" (as E2B
        // does), so that workflows fall back to a restore; a malformed id stays SANDBOX_NOT_FOUND.
        if (isTorporError(error, "SANDBOX_NOT_FOUND") && isSandboxId(id)) return "gone";
        throw error;
      }
    },

    async cpuUsage(id, window) {
      const state = await readLiveState(root, id);
      return cpu.usage(id, () => sandboxMembers(recordsOf(state)), window.to - window.from);
    },

    async findSandboxes(metadata) {
      // A tombstone keeps only its state.json: one stat per killed sandbox, a read per live one.
      const names = await fs.readdir(root).catch(() => [] as string[]);
      const found: SandboxInfo[] = [];
      for (const name of names) {
        if (!isSandboxId(name) || !(await fs.stat(sandboxDirs(root, name).workspace).then(() => true, () => false))) continue;
        const state = await readState(root, name).catch(() => null);
        if (!state || state.status === "gone") continue;
        if (Object.entries(metadata).every(([key, value]) => state.metadata[key] === value)) found.push(describe(state));
      }
      return found;
    },

    async exec(id: string, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
      const state = await readLiveState(root, id);
      if (state.status === "paused") {
        throw new SandboxError("PROVIDER", `Sandbox '${id}' is paused: connect() before exec`, { details: { sandboxId: id } });
      }
      const dirs = sandboxDirs(root, id);
      const cwd = workspacePath(opts.cwd ?? "", "cwd");
      const cwdHost = hostPathSync(dirs.workspace, cwd);
      if (cwdHost === null || !(await fs.stat(cwdHost).then((s) => s.isDirectory(), () => false))) {
        throw new SandboxError("PROVIDER", `No folder '${cwd}' in sandbox '${id}' for exec`, { details: { sandboxId: id, cwd } });
      }
      if (opts.background) {
        return serial(id, async () => {
          const fresh = await readLiveState(root, id);
          refuseWhileLent(fresh);
          fresh.processStarted = true;
          await writeState(root, fresh);
          const fd = openSync(path.join(dirs.logs, `bg-${Date.now()}-${fresh.processes.length}.log`), "a");
          const child = spawnInSandbox({ bwrap, state: fresh, dirs, command, cwd, env: opts.env, stdio: ["ignore", fd, fd] });
          closeSync(fd);
          child.once("error", (e) => log(`[torpor] background command in ${id} failed: ${e.message}`));
          fresh.processes.push(recordOf(child, command, "background"));
          child.unref();
          await writeState(root, fresh);
          return { exitCode: null, stdout: "", stderr: "" };
        });
      }
      await serial(id, async () => {
        const fresh = await readLiveState(root, id);
        refuseWhileLent(fresh);
        if (fresh.processStarted === true) return;
        fresh.processStarted = true;
        await writeState(root, fresh);
      });
      return runForeground({ bwrap, state, dirs, command, cwd, env: opts.env }, opts.timeoutMs, (record) => {
        const set = execs.get(id) ?? new Set<ProcessRecord>();
        execs.set(id, set.add(record));
        return async () => {
          // What the command left running (`(server &)`) stays part of the sandbox: kept as a
          // background record, so that pause freezes it and kill ends it, after a restart too.
          if (groupAlive(record)) await adopt(id, record).catch((e: unknown) => log(`[torpor] keeping the processes '${command}' left in ${id} failed: ${String(e)}`));
          set.delete(record);
        };
      });
    },

    async scan(id, dir) {
      await readLiveState(root, id);
      return scanFolder(sandboxDirs(root, id).workspace, dir ?? "");
    },
    async hashFiles(id, paths) {
      await readLiveState(root, id);
      return hashFolderFiles(sandboxDirs(root, id).workspace, paths);
    },
    async exportTar(id, paths): Promise<Readable> {
      await readLiveState(root, id);
      return exportFolderTar(sandboxDirs(root, id).workspace, paths);
    },
    inPlaceReads(id) {
      // No live-state check per read: the snapshot scans first (provider.scan checks it).
      return workspaceInPlaceReads(sandboxDirs(root, id).workspace);
    },
    async writeEntries(id, entries) {
      await readLiveState(root, id);
      await writingInto(async () => {
        const importer = workspaceImporter(sandboxDirs(root, id).workspace);
        for await (const item of entries) {
          const { entry, data } = item;
          const name = workspacePath(entry.path, "manifest path");
          if (name === "") continue;
          await importer.write({
            name,
            type: entry.type,
            mode: entry.mode & 0o7777,
            mtime: new Date(entry.mtimeMs),
            size: entry.size,
            linkname: entry.target,
            data,
            // Read only when there is no data: for the engine's small files it is made on demand.
            content: data === undefined ? item.content : undefined,
          });
        }
        importer.finish();
      });
      await handOver({ bwrap, state: await readLiveState(root, id), dirs: sandboxDirs(root, id) }, "all", log);
    },
    async importTar(id, tar) {
      await readLiveState(root, id).catch((error: unknown) => {
        tar.destroy();
        throw error;
      });
      await writingInto(() => importFolderTar(sandboxDirs(root, id).workspace, tar));
      await handOver({ bwrap, state: await readLiveState(root, id), dirs: sandboxDirs(root, id) }, "all", log);
    },
    lendQuietWorkspace: (id) =>
      serial(id, () => lendQuietWorkspace({ root, log, bwrap, serial, loans, writes: { begin: () => writing++, end: () => writing-- } }, id)),

    async readFile(id, p) {
      await readLiveState(root, id);
      return readWorkspaceFile(sandboxDirs(root, id).workspace, p);
    },
    async writeFile(id, p, content, mode) {
      const state = await readLiveState(root, id);
      await writeWorkspaceFile(sandboxDirs(root, id).workspace, p, content, mode);
      await handOver({ bwrap, state, dirs: sandboxDirs(root, id) }, [workspacePath(p, "path")], log);
    },

    async watch(id, onEvents, onDropped) {
      await readLiveState(root, id);
      const set = watchers.get(id) ?? new Set<() => Promise<void>>();
      watchers.set(id, set);
      const stopWatching = await watchFolder(sandboxDirs(root, id).workspace, onEvents, {
        debounceMs: options.watchDebounceMs,
        onError: (e) => {
          log(`[torpor] change feed of ${id} ended: ${e.message}`);
          onDropped?.(e.message);
        },
      });
      const stop = async (): Promise<void> => {
        set.delete(stop);
        await stopWatching();
      };
      set.add(stop);
      return stop;
    },
  };
  return provider;
}
