/**
 * The SandboxProvider port: the places sandboxes run (E2B in production, a local bubblewrap
 * sandbox by default). Paths given to and returned by a provider are relative to the sandbox's
 * workspace folder (/workspace inside the sandbox), "/"-separated; a path with "..", an absolute
 * path, or one that resolves outside the workspace is refused with SandboxError("UNSAFE_PATH").
 *
 * Every method takes a sandbox id and fails with a SandboxError whose code workflows decide on:
 * SANDBOX_NOT_FOUND (never existed), SANDBOX_GONE (killed, expired, wiped), TIMEOUT, PROVIDER.
 * Every adapter passes tests/sandbox/contract.ts.
 */
import type { Readable } from "node:stream";
import type { CpuWindow } from "../core/cpu-activity";
import type { InPlaceReads, ManifestEntry, ScanEntry } from "../core/workspace";

export const WORKSPACE_DIR = "/workspace";

export type SandboxStatus = "running" | "paused" | "gone";

export interface CreateSandboxOptions {
  template: string;
  env?: Record<string, string>;
  /** A long-running command started in the background (a dev server); its early exit is reported. */
  startCommand?: string;
  /** The provider's own lifetime limit for the sandbox (E2B's timeout). */
  timeoutMs?: number;
  /** Network access for the sandbox's processes (local provider: off unless asked). */
  network?: boolean;
  metadata?: Record<string, string>;
}

export interface SandboxInfo {
  id: string;
  provider: "local" | "e2b";
  template: string;
  status: SandboxStatus;
  /** False when the provider could not isolate the sandbox (local provider without bubblewrap). */
  isolated: boolean;
  startedAt: number;
  metadata: Record<string, string>;
  /** Problems a caller must see: not isolated (no bubblewrap), the start command exited… */
  warnings?: string[];
}

export interface ExecOptions {
  /** Relative to the workspace; default the workspace itself. */
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Start and return at once (exitCode null); the process belongs to the sandbox. */
  background?: boolean;
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface FileEvent {
  path: string;
  operation: "write" | "delete" | "rename";
  at: number;
}

export interface SandboxProvider {
  readonly kind: "local" | "e2b";
  /** False for providers that can only keep or kill a sandbox: hibernation archives at once. */
  readonly supportsPause: boolean;
  /**
   * True when a paused sandbox's workspace can still be read and written from the host (the local
   * provider: pause stops every process of the sandbox and the files stay where they are). Then
   * hibernate pauses *before* its checkpoint, so the checkpoint holds exactly what the paused
   * sandbox holds (no write slips in between), and an aborted hibernate connects again at once.
   */
  readonly readsWhilePaused?: boolean;

  create(options: CreateSandboxOptions): Promise<SandboxInfo>;
  /** Reconnects to a sandbox, resuming it if paused. Fails SANDBOX_GONE if the provider lost it. */
  connect(sandboxId: string): Promise<SandboxInfo>;
  /** Stops every process without killing it; billing stops. */
  pause(sandboxId: string): Promise<void>;
  /** Ends the sandbox and deletes the provider's copy. Killing a gone sandbox is not an error. */
  kill(sandboxId: string): Promise<void>;
  status(sandboxId: string): Promise<SandboxStatus>;
  /**
   * Optional, for a provider that ends sandboxes on a timer of its own (E2B's timeout): the
   * sandbox is kept at least `ms` from now (a provider may clamp it to its cap). Called on
   * recorded activity. A sandbox the provider paused on its timer is resumed; fails SANDBOX_GONE
   * when the provider lost it.
   */
  extendLifetime?(sandboxId: string, ms: number): Promise<void>;
  /**
   * Optional: the live (running or paused) sandboxes whose metadata holds every given key/value
   * ({} lists them all). A workflow step that creates a sandbox tags it with its run and step, so
   * a replay after a crash between create and the journal finds the sandbox instead of leaking it.
   */
  findSandboxes?(metadata: Record<string, string>): Promise<SandboxInfo[]>;
  /**
   * Optional: the CPU the sandbox's processes used over about `window` (epoch ms on the caller's
   * clock; E2B asks its metrics for exactly that range, the local provider diffs its processes'
   * CPU time since its previous sample when that is within the window, else over a short probe).
   * null when the provider has no figure (no metrics yet). The idle sweep calls it once per idle
   * candidate (src/workflows/cpu-activity). Fails SANDBOX_GONE like the other methods.
   */
  cpuUsage?(sandboxId: string, window: { from: number; to: number }): Promise<CpuWindow | null>;
  exec(sandboxId: string, command: string, options?: ExecOptions): Promise<ExecResult>;

  /** A stat scan of the workspace (or a folder in it); never follows symlinks. */
  scan(sandboxId: string, dir?: string): Promise<ScanEntry[]>;
  /** SHA-256 hex of each file, computed where the files are. */
  hashFiles(sandboxId: string, paths: string[]): Promise<Record<string, string>>;
  /** One tar stream holding these paths (files, dirs, symlinks with their modes and mtimes). */
  exportTar(sandboxId: string, paths: string[]): Promise<Readable>;
  /**
   * Optional, for a provider whose workspaces are folders on this host (the local provider): the
   * checkpoint engine reads files in place, with the same checks as exportTar (no symlink among
   * the parents, none followed at the end), instead of through a tar stream.
   */
  inPlaceReads?(sandboxId: string): InPlaceReads;
  /** Extracts one tar stream into the workspace; refuses entries that would escape it. */
  importTar(sandboxId: string, tar: Readable): Promise<void>;
  /**
   * Optional, for a provider whose workspaces are folders on this host: what importTar does, from
   * the entries themselves (a restore's, in its order: dirs, files, symlinks), without a tar
   * stream in between. `data` is a small file's content, already checked by the engine.
   */
  writeEntries?(sandboxId: string, entries: AsyncIterable<{ entry: ManifestEntry; content?: Readable; data?: Buffer }>): Promise<void>;

  /**
   * Optional, for a provider whose workspaces are folders on this host: lends the workspace folder
   * of a sandbox in which no process has ever run, so that a restore writes into it with the
   * checkpoint engine's own folder writer (its writer threads) instead of writeEntries' checked,
   * one-thread writes. That is safe only because nothing hostile can touch the folder: no sandbox
   * process exists, and none starts while the loan is out (exec and the start command are
   * refused). Null when that cannot be promised: a process has run, or the folder holds files that
   * were not written under a loan. `release(true)` ends the loan with the files written (they are
   * given to the sandbox's user); `release(false)` empties the folder first, so that a loan ends
   * with a whole restore or nothing. A loan never released (a crash) is taken back by the next
   * one, which empties the folder.
   */
  lendQuietWorkspace?(sandboxId: string): Promise<WorkspaceLoan | null>;

  readFile(sandboxId: string, path: string): Promise<Buffer>;
  writeFile(sandboxId: string, path: string, content: Buffer | string, mode?: number): Promise<void>;

  /**
   * A debounced feed of file events under the workspace; returns a function that stops it.
   * `onDropped` is told when the feed ended or lost events on its own (its watch failed): the
   * caller then falls back to a scan (src/runtime/change-feed), never to silence.
   */
  watch(sandboxId: string, onEvents: (events: FileEvent[]) => void, onDropped?: (reason: string) => void): Promise<() => Promise<void>>;
}

/** A sandbox's workspace folder, lent for a restore (SandboxProvider.lendQuietWorkspace). */
export interface WorkspaceLoan {
  /** The host folder the sandbox sees as its workspace; empty when lent. */
  readonly folder: string;
  release(restored: boolean): Promise<void>;
}
