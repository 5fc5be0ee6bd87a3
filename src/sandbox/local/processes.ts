/**
 * The processes of a local sandbox, found from the host's /proc.
 *
 * Every process Torpor starts for a sandbox is spawned detached: it leads its own process group
 * (pgid = its pid) and is not tied to Torpor's lifetime. A sandbox's processes are the members
 * of its recorded process groups (also after the group's leader has exited) plus, with
 * bubblewrap, every process in those groups' pid namespaces (which catches a process that left
 * its group with setsid). A record carries the process's start time from /proc/<pid>/stat, so a
 * recycled pid is never mistaken for ours.
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
  ppid: number;
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
  return { state: fields[0] ?? "?", ppid: Number(fields[1]), pgrp: Number(fields[2]), startTime: fields[19] ?? "", cpuTicks };
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

interface LiveProcess {
  pid: number;
  st: ProcStat;
}

/** Every process on the host that is not a zombie, from /proc. */
function liveProcesses(): LiveProcess[] {
  const all: LiveProcess[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (st && st.state !== "Z" && st.state !== "X") all.push({ pid: Number(name), st });
  }
  return all;
}

/**
 * The members of each recorded process group, leader or not. A group outlives its leader: a
 * command that ends after `(server &)` leaves the server in the group (under bubblewrap, with the
 * pid namespace's init), and such a process must still be frozen and killed with the sandbox.
 * Linux does not reuse a pid while a process group of that number exists, so with the leader
 * gone, the processes whose pgid is its pid are its group; a live process holding the leader's
 * pid with another start time means the pid was reused after the whole group died. A member
 * that started before the leader cannot be its descendant and is never taken.
 */
function groupMembers(records: ProcessRecord[], all: LiveProcess[]): Set<number> {
  const byPid = new Map(all.map((p) => [p.pid, p.st]));
  const since = new Map<number, number>();
  for (const r of records) {
    const leader = byPid.get(r.pid);
    if (leader !== undefined && leader.startTime !== r.startTime) continue;
    since.set(r.pid, Math.min(since.get(r.pid) ?? Infinity, Number(r.startTime) || 0));
  }
  const members = new Set<number>();
  for (const p of all) {
    const start = since.get(p.st.pgrp);
    if (start !== undefined && Number(p.st.startTime) >= start) members.add(p.pid);
  }
  return members;
}

/** Whether any process of the record's group is still alive (its leader or what it left behind). */
export function groupAlive(record: ProcessRecord): boolean {
  return isAlive(record) || groupMembers([record], liveProcesses()).size > 0;
}

/** Every live process of the sandbox whose process groups are `records`. */
export function sandboxMembers(records: ProcessRecord[]): number[] {
  if (records.length === 0) return [];
  const all = liveProcesses();
  const members = groupMembers(records, all);
  if (members.size === 0) return [];
  const ownNs = pidNamespace(process.pid);
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

const STOPPED_OR_GONE = new Set(["T", "t", "Z", "X"]);

/**
 * The members of `pids` that can still run. Stopped (T) and gone count as frozen, and so does a
 * process in uninterruptible sleep (D) with a stopped child: that is a shell's vfork() waiting
 * for its child to exec, which cannot return while the child is stopped (the SIGSTOP we sent it
 * stays pending and stops it as soon as it does).
 */
export function unfrozen(pids: number[]): number[] {
  const stats = new Map(pids.map((pid) => [pid, procStat(pid)]));
  const stoppedParents = new Set<number>();
  for (const st of stats.values()) if (st && (st.state === "T" || st.state === "t")) stoppedParents.add(st.ppid);
  return pids.filter((pid) => {
    const st = stats.get(pid);
    if (!st || STOPPED_OR_GONE.has(st.state)) return false;
    return !(st.state === "D" && stoppedParents.has(pid));
  });
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
    const members = sandboxMembers(records);
    for (const pid of members) seen.add(pid);
    const running = unfrozen(members);
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

/** True when none of the listed processes is alive any more. */
export function allGone(pids: number[]): boolean {
  return pids.every((pid) => {
    const st = procStat(pid);
    return st === null || st.state === "Z" || st.state === "X";
  });
}
