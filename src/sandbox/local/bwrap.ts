/**
 * Bubblewrap (bwrap) for the local provider: finding it, probing that it can run here, and the
 * argument list that isolates one sandbox process.
 *
 * Isolation: `--unshare-all` (new user-if-possible, mount, pid, ipc, uts, cgroup and net
 * namespaces; `--share-net` only when the sandbox asked for network), `--cap-drop ALL`, the system
 * folders read-only, a short list of /etc files read-only (never /etc/shadow or ssh keys), the
 * workspace read-write at /workspace, a per-sandbox /tmp and home, fresh /proc and /dev.
 * No `--die-with-parent`: sandboxes outlive the Torpor process that started them. The process
 * environment is built by the caller from scratch, so none of Torpor's own settings leak in.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { WORKSPACE_DIR } from "../types";

export const SANDBOX_HOME = "/home/sandbox";
const CANDIDATES = ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"];
const SYSTEM_LINKS_OR_DIRS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
const ETC_FILES = [
  "/etc/alternatives", "/etc/ca-certificates", "/etc/ssl", "/etc/ld.so.cache", "/etc/ld.so.conf",
  "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
  "/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/os-release",
  "/etc/debian_version", "/etc/mime.types", "/etc/protocols", "/etc/services",
];

export interface BubblewrapProbe {
  path: string | null;
  /** Why bubblewrap cannot be used, when `path` is null. */
  reason: string;
}

/** Finds bwrap and checks that it can create its namespaces on this machine. */
export function probeBubblewrap(explicitPath?: string): BubblewrapProbe {
  const found = explicitPath ?? CANDIDATES.find((p) => existsSync(p));
  if (!found) return { path: null, reason: "bubblewrap (bwrap) is not installed: apt-get install bubblewrap" };
  const args = [...systemArgs(), "--unshare-all", "--cap-drop", "ALL", "--", "/bin/sh", "-c", "exit 0"];
  const run = spawnSync(found, args, { env: {} as NodeJS.ProcessEnv, encoding: "utf8", timeout: 10_000 });
  if (run.status === 0) return { path: found, reason: "" };
  const why = (run.stderr || run.error?.message || `exit ${String(run.status)}`).trim();
  return { path: null, reason: `bubblewrap at ${found} cannot create namespaces here: ${why}` };
}

/** Read-only system folders: merged-/usr symlinks are recreated as symlinks, folders bound. */
function systemArgs(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const p of SYSTEM_LINKS_OR_DIRS) {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push("--symlink", readlinkSync(p), p);
    else if (st.isDirectory()) args.push("--ro-bind", p, p);
  }
  for (const p of ETC_FILES) args.push("--ro-bind-try", p, p);
  return args;
}

export interface SandboxMounts {
  workspace: string;
  tmp: string;
  home: string;
}

/** The bwrap argument list that runs `command` with /bin/sh inside the sandbox. */
export function bwrapArgs(mounts: SandboxMounts, command: string, options: { network: boolean; cwd: string }): string[] {
  return [
    "--unshare-all",
    ...(options.network ? ["--share-net"] : []),
    "--cap-drop", "ALL",
    "--hostname", "sandbox",
    ...systemArgs(),
    "--proc", "/proc",
    "--dev", "/dev",
    "--bind", mounts.tmp, "/tmp",
    "--bind", mounts.home, SANDBOX_HOME,
    "--bind", mounts.workspace, WORKSPACE_DIR,
    "--chdir", options.cwd === "" ? WORKSPACE_DIR : `${WORKSPACE_DIR}/${options.cwd}`,
    "--",
    "/bin/sh", "-c", command,
  ];
}

/** The environment of a sandbox process: a fixed base plus the sandbox's and the call's own. */
export function sandboxEnv(home: string, ...layers: (Record<string, string> | undefined)[]): Record<string, string> {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    TERM: "xterm-256color",
  };
  for (const layer of layers) Object.assign(env, layer ?? {});
  return env;
}
