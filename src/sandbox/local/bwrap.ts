/**
 * Bubblewrap (bwrap) for the local provider: finding it, probing that it can run here, and the
 * argument list that isolates one sandbox process.
 *
 * Isolation: own mount, pid, ipc, uts, cgroup and net namespaces (always: the host's network
 * would reach the app's and the object store's loopback ports, so the provider refuses
 * `network: true`), the system folders read-only, a short
 * list of /etc files read-only (never /etc/shadow or ssh keys), the workspace read-write at
 * /workspace, a per-sandbox /tmp and home, fresh /proc and /dev. bwrap mounts every bind nosuid
 * and sets PR_SET_NO_NEW_PRIVS, so neither a setuid file nor file capabilities give privileges.
 *
 * The uid: a sandbox process never runs as host root. When Torpor runs as root, bwrap runs
 * without a user namespace (as root it would map the sandbox's uid to host root, so files it
 * made would be root's and a `chmod 4755` would leave a setuid-root file on the host); it keeps
 * only CAP_SETUID, CAP_SETGID and CAP_SETPCAP, and `setpriv` drops to SANDBOX_UID:SANDBOX_GID
 * (host uid 65533, an id no account has), clears the supplementary groups, the inheritable and
 * bounding sets, before the command runs: the command has no capability at all. Files it makes
 * are owned by 65533 on the host. When Torpor runs as another user, `--unshare-user` maps the sandbox to that
 * (already unprivileged) user.
 * No `--die-with-parent`: sandboxes outlive the Torpor process that started them. The process
 * environment is built by the caller from scratch, so none of Torpor's own settings leak in.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { WORKSPACE_DIR } from "../types";

export const SANDBOX_HOME = "/home/sandbox";
/**
 * The host uid and gid of sandbox processes when Torpor runs as root. Not 65534: a host daemon
 * running as `nobody` would then own every sandbox's processes, and so read and write every
 * running workspace through /proc/<pid>/cwd (the data dir's 0700 does not cover that path),
 * ptrace and signal them. 65533 is in Debian's reserved, never-allocated range (65000-65533),
 * below systemd's and subuid's dynamic ranges.
 */
export const SANDBOX_UID = 65533;
export const SANDBOX_GID = 65533;
const SETPRIV = "/usr/bin/setpriv";
/** What to tell an operator whose machine cannot isolate sandboxes. */
export const BWRAP_HINT = "install bubblewrap (apt-get install bubblewrap) or set TORPOR_BWRAP=off to run sandboxes NOT isolated";

/** True when sandbox processes must drop from host root to SANDBOX_UID. */
export function dropsToSandboxUid(): boolean {
  return process.getuid?.() === 0;
}
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

/** Finds bwrap and checks that it can create its namespaces (and drop to SANDBOX_UID) here. */
export function probeBubblewrap(explicitPath?: string): BubblewrapProbe {
  const found = explicitPath ?? CANDIDATES.find((p) => existsSync(p));
  if (!found) return { path: null, reason: "bubblewrap (bwrap) is not installed" };
  if (dropsToSandboxUid() && !existsSync(SETPRIV)) {
    return { path: null, reason: `${SETPRIV} (util-linux) is missing: as root, sandboxes need it to drop to uid ${SANDBOX_UID}` };
  }
  const args = [...namespaceArgs(), ...systemArgs(), "--", ...dropArgs(), "/bin/sh", "-c", "id -u"];
  const run = spawnSync(found, args, { env: {} as NodeJS.ProcessEnv, encoding: "utf8", timeout: 10_000 });
  const expected = dropsToSandboxUid() ? String(SANDBOX_UID) : null;
  if (run.status === 0 && (expected === null || run.stdout.trim() === expected)) return { path: found, reason: "" };
  const why = (run.stderr || run.error?.message || `exit ${String(run.status)}, uid ${run.stdout.trim()}`).trim();
  return { path: null, reason: `bubblewrap at ${found} cannot isolate a sandbox here: ${why}` };
}

/** Namespaces and capabilities: see the header for why root and non-root differ. */
function namespaceArgs(): string[] {
  const own = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try", "--unshare-net"];
  if (!dropsToSandboxUid()) return ["--unshare-user", ...own, "--cap-drop", "ALL"];
  return [
    ...own,
    "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP",
  ];
}

/** The command prefix that leaves root for SANDBOX_UID with no capability left (root only). */
function dropArgs(): string[] {
  if (!dropsToSandboxUid()) return [];
  return [SETPRIV, `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_GID}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"];
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
  // /etc itself is made by bwrap to hold the binds below; as root it came out 0700, and the
  // sandbox's uid could read none of them (node then fails on /etc/ssl/openssl.cnf).
  args.push("--perms", "0755", "--dir", "/etc");
  for (const p of ETC_FILES) args.push("--ro-bind-try", p, p);
  return args;
}

/**
 * bwrap arguments that give `paths` (absolute inside /workspace, or the whole tree) to
 * SANDBOX_UID: files Torpor writes as root must stay writable by the sandbox's processes. Run in
 * a mount namespace that holds nothing writable but the workspace (no /proc, /tmp or home), with
 * CAP_CHOWN and CAP_DAC_READ_SEARCH only, so a symlink the sandbox swapped in cannot point the
 * chown at a host file; `chown -P` never follows links, and chown clears setuid/setgid bits.
 */
export function handOverArgs(workspace: string, paths: string[] | "all"): string[] {
  const all = paths === "all";
  return [
    "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-net",
    "--cap-drop", "ALL", "--cap-add", "CAP_CHOWN", "--cap-add", "CAP_DAC_READ_SEARCH",
    ...systemArgs(),
    "--bind", workspace, WORKSPACE_DIR,
    "--", "/usr/bin/chown", "-h", ...(all ? ["-R", "-P"] : []), `${SANDBOX_UID}:${SANDBOX_GID}`, "--", ...(all ? [WORKSPACE_DIR] : paths),
  ];
}

export interface SandboxMounts {
  workspace: string;
  tmp: string;
  home: string;
}

/** The bwrap argument list that runs `command` with /bin/sh inside the sandbox. */
export function bwrapArgs(mounts: SandboxMounts, command: string, options: { cwd: string }): string[] {
  return [
    ...namespaceArgs(),
    "--hostname", "sandbox",
    ...systemArgs(),
    "--proc", "/proc",
    "--dev", "/dev",
    "--bind", mounts.tmp, "/tmp",
    "--bind", mounts.home, SANDBOX_HOME,
    "--bind", mounts.workspace, WORKSPACE_DIR,
    "--chdir", options.cwd === "" ? WORKSPACE_DIR : `${WORKSPACE_DIR}/${options.cwd}`,
    "--",
    ...dropArgs(),
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
