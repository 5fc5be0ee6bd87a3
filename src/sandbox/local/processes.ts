/**
 * The processes of a local sandbox, found from the host's /proc.
 *
 * Every process Torpor starts for a sandbox is spawned detached: it leads its own process group
 * (pgid = its pid) and is not tied to Torpor's lifetime. A sandbox's processes are the members
 * of its recorded process groups plus, with bubblewrap, every process in those groups' pid
 * namespaces (which catches a process that left its group with setsid). A record carries the
 * process's start time from /proc/<pid>/stat, so a recycled pid is never mistaken for ours.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ProcessRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: with the pid, identifies the process across pid reuse. */
  startTime: string;
  command: string;
  kind: "start" | "background" | "exec";
}

interface ProcStat {
  state: string;
  pgrp: number;
  startTime: string;
  /** utime + stime + cutime + cstime, in ticks (NaN if unreadable). */
  cpuTicks: number;
}

export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields after the command's closing parenthesis start at field 3 (state): utime is field 14.
  const cpuTicks = [11, 12, 13, 14].map((i) => Number(fields[i])).reduce((a, b) => a + b, 0);
  return { state: fields[0] ?? "?", pgrp: Number(fields[2]), startTime: fields[19] ?? "", cpuTicks };
}

/** Alive and the same process as recorded (not a zombie, not a recycled pid). */
export function isAlive(record: ProcessRecord): boolean {
  const st = procStat(record.pid);
  return st !== null && st.startTime === record.startTime && st.state !== "Z" && st.state !== "X";
}

function pidNamespace(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** Every live process of the sandbox whose process groups are `records`. */
export function sandboxMembers(records: ProcessRecord[]): number[] {
  const groups = new Set(records.filter(isAlive).map((r) => r.pid));
  if (groups.size === 0) return [];
  const ownNs = pidNamespace(process.pid);
  const all: { pid: number; st: ProcStat }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st && st.state !== "Z" && st.state !== "X") all.push({ pid: Number(name), st });
  }
  const members = new Set(all.filter((p) => groups.has(p.st.pgrp)).map((p) => p.pid));
  const namespaces = new Set<string>();
  for (const pid of members) {
    const ns = pidNamespace(pid);
    if (ns && ns !== ownNs) namespaces.add(ns);
  }
  if (namespaces.size > 0) {
    for (const p of all) {
      if (members.has(p.pid)) continue;
      const ns = pidNamespace(p.pid);
      if (ns && namespaces.has(ns)) members.add(p.pid);
    }
  }
  members.delete(process.pid);
  return [...members];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Sends `sig` to every process of the sandbox, repeating while new members appear (a process
 * may fork while we stop its siblings). Returns the pids signalled.
 */
export function signalSandbox(records: ProcessRecord[], sig: NodeJS.Signals): number[] {
  const done = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const fresh = sandboxMembers(records).filter((pid) => !done.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signal(pid, sig);
      done.add(pid);
    }
  }
  return [...done];
}

function stoppedOrGone(pid: number): boolean {
  const st = procStat(pid);
  return st === null || st.state === "T" || st.state === "t" || st.state === "Z" || st.state === "X";
}

/**
 * Freezes the whole sandbox: SIGSTOP to every member that is not stopped, again and again, until
 * two scans in a row find every member stopped (a fixed point). One pass is not enough: a process
 * can fork, or SIGCONT a sibling we already stopped, between our signals; a stopped process can
 * do neither, so once all are stopped together nothing in the sandbox runs until connect. The
 * pid namespace (bwrap --unshare-pid) is what finds children that left the recorded process
 * groups (setsid). Returns every pid stopped and whether the fixed point was reached in time.
 */
export async function freezeSandbox(records: ProcessRecord[], timeoutMs = 5000): Promise<{ pids: number[]; frozen: boolean }> {
  const seen = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  let clean = 0;
  while (Date.now() < deadline) {
    const running = sandboxMembers(records).filter((pid) => (seen.add(pid), !stoppedOrGone(pid)));
    if (running.length === 0) {
      if (++clean === 2) return { pids: [...seen], frozen: true };
    } else {
      clean = 0;
      for (const pid of running) signal(pid, "SIGSTOP");
    }
    await new Promise((r) => setTimeout(r, running.length === 0 ? 1 : 5));
  }
  return { pids: [...seen], frozen: false };
}

/** True when every listed process is stopped (state T) or gone. */
export function allStopped(pids: number[]): boolean {
  return pids.every((pid) => {
    const st = procStat(pid);
    return st === null || st.state === "T" || st.state === "t" || st.state === "Z";
  });
}

/** True when none of the listed processes is alive any more. */
export function allGone(pids: number[]): boolean {
  return pids.every((pid) => {
    const st = procStat(pid);
    return st === null || st.state === "Z" || st.state === "X";
  });
}
