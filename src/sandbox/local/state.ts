/**
 * The on-disk record of a local sandbox, so that a restarted Torpor finds its sandboxes again.
 *
 * Layout under the provider's root:  <root>/<id>/state.json  the record (atomically replaced)
 *                                    <root>/<id>/workspace   the files, bound at /workspace
 *                                    <root>/<id>/tmp, home    the sandbox's /tmp and home
 *                                    <root>/<id>/logs         output of background processes
 * A killed sandbox keeps only its state.json, with status "gone" (a tombstone), so that "gone"
 * (it existed) stays distinct from "not found" (it never did).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { SandboxError } from "../../core/errors";
import type { SandboxInfo } from "../types";
import type { ProcessRecord } from "./processes";

const ID_PATTERN = /^sbx_[0-9a-z]{9}[0-9a-f]{20}$/;

export interface LocalState {
  version: 1;
  id: string;
  template: string;
  status: "running" | "paused" | "gone";
  isolated: boolean;
  network: boolean;
  env: Record<string, string>;
  metadata: Record<string, string>;
  startCommand: string | null;
  processes: ProcessRecord[];
  /**
   * Whether any process was ever started in the sandbox (set before the spawn). Records from
   * before this field count as true: only a sandbox known never to have run one is lent out
   * (lendQuietWorkspace).
   */
  processStarted?: boolean;
  /** "out" while its workspace is lent for a restore (and after a crash in one). */
  loan?: "out";
  warnings: string[];
  createdAt: number;
  updatedAt: number;
}

export function newSandboxId(now = Date.now()): string {
  return `sbx_${now.toString(36).padStart(9, "0")}${randomBytes(10).toString("hex")}`;
}

export function isSandboxId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export interface SandboxDirs {
  dir: string;
  workspace: string;
  tmp: string;
  home: string;
  logs: string;
  state: string;
}

export function sandboxDirs(root: string, id: string): SandboxDirs {
  if (!isSandboxId(id)) {
    throw new SandboxError("SANDBOX_NOT_FOUND", `No local sandbox '${id}' (not a local sandbox id)`, { details: { sandboxId: id } });
  }
  const dir = path.join(root, id);
  return {
    dir,
    workspace: path.join(dir, "workspace"),
    tmp: path.join(dir, "tmp"),
    home: path.join(dir, "home"),
    logs: path.join(dir, "logs"),
    state: path.join(dir, "state.json"),
  };
}

export async function readState(root: string, id: string): Promise<LocalState> {
  const dirs = sandboxDirs(root, id);
  let text: string;
  try {
    text = await fs.readFile(dirs.state, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new SandboxError("SANDBOX_NOT_FOUND", `No local sandbox '${id}' under ${root}`, { details: { sandboxId: id } });
    }
    throw new SandboxError("PROVIDER", `Cannot read the state of sandbox '${id}'`, { cause: error, details: { sandboxId: id } });
  }
  const state = JSON.parse(text) as LocalState;
  // A workspace folder wiped behind our back means the provider's copy is gone.
  if (state.status !== "gone" && !(await exists(dirs.workspace))) state.status = "gone";
  return state;
}

/** Like readState, but a gone sandbox fails with SANDBOX_GONE. */
export async function readLiveState(root: string, id: string): Promise<LocalState> {
  const state = await readState(root, id);
  if (state.status === "gone") {
    throw new SandboxError("SANDBOX_GONE", `Sandbox '${id}' is gone (killed or wiped)`, { details: { sandboxId: id } });
  }
  return state;
}

export async function writeState(root: string, state: LocalState): Promise<void> {
  const dirs = sandboxDirs(root, state.id);
  const tmp = `${dirs.state}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  // 0600: the record holds the sandbox's env, which may carry a tenant's secrets.
  await fs.writeFile(tmp, JSON.stringify({ ...state, updatedAt: Date.now() }, null, 2), { mode: 0o600 });
  await fs.rename(tmp, dirs.state);
}

export function toInfo(state: LocalState): SandboxInfo {
  const info: SandboxInfo = {
    id: state.id,
    provider: "local",
    template: state.template,
    status: state.status,
    isolated: state.isolated,
    startedAt: state.createdAt,
    metadata: { ...state.metadata },
  };
  if (state.warnings.length > 0) info.warnings = [...state.warnings];
  return info;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
