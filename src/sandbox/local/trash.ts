/**
 * Deferred deletion of killed local sandboxes' folders.
 *
 * kill() renames a sandbox's workspace, /tmp, home and logs into `<root>/.trash/` (one rename
 * each, instant on the same filesystem: the sandbox is gone for the user at once and its files
 * are served by nothing). A reaper deletes trash entries once they are older than `minAgeMs`, a
 * batch of names per tick, and never while a restore writes into a sandbox of this provider.
 *
 * Why: on ext4, creating files soon after a large deletion is slow in the kernel (inode
 * allocation skips recently deleted inodes, `recently_deleted` under `ext4_create`). An archive
 * that deleted 22,000 files made the next resume's restore of the same 22,000 files take 26 s
 * instead of 2.5 s (issue 13). Deleting later, in small batches, keeps that cost off the hot path.
 * Disk space is reclaimed within `minAgeMs` plus the time the batches take (`status()` says how
 * much is waiting).
 *
 * The trash is 0700 and walked through directory descriptors (`/proc/self/fd/<fd>/<name>`, each
 * folder opened with O_NOFOLLOW|O_DIRECTORY): a process of the killed sandbox that outlived the
 * kill and swaps a folder for a symlink makes the reaper skip that name, never delete through it.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync } from "node:fs";
import path from "node:path";

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const ENTRY = /^(\d+)-(sbx_[0-9a-z]+)-([a-z]+)$/;

export interface TrashStatus {
  /** Folders waiting to be deleted. */
  entries: number;
  /** When the oldest one was moved to the trash (ms since the epoch), null when empty. */
  oldestAt: number | null;
}

export interface Trash {
  /** Moves these folders (absolute paths under the provider's root) into the trash. */
  put(sandboxId: string, dirs: Record<string, string>, now?: number): void;
  /** Deletes up to `budget` names from entries older than minAgeMs; returns how many it deleted. */
  reap(now?: number, budget?: number): number;
  status(): TrashStatus;
  /** Stops the reaper's timer. */
  stop(): void;
}

export interface TrashOptions {
  root: string;
  /** Entries younger than this are kept (default 120 s: past ext4's recent-deletion window). */
  minAgeMs?: number;
  /** Names deleted per tick (default 2,000). */
  batch?: number;
  /** Tick period (default 1 s); 0 starts no timer (tests call reap()). */
  intervalMs?: number;
  /** The reaper waits while this says true (a restore is writing into a sandbox). */
  busy?: () => boolean;
  log?: (message: string) => void;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function createTrash(options: TrashOptions): Trash {
  const dir = path.join(options.root, ".trash");
  const minAge = options.minAgeMs ?? 120_000;
  const batch = options.batch ?? 2000;
  const log = options.log ?? (() => undefined);
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const entries = (): { name: string; at: number }[] =>
    readdirSync(dir)
      .map((name) => ({ name, match: ENTRY.exec(name) }))
      .filter((e) => e.match !== null)
      .map((e) => ({ name: e.name, at: Number(e.match![1]) }))
      .sort((a, b) => a.at - b.at);

  /** Deletes names under the folder open as `fd`, depth first; returns the budget left. */
  function drain(fd: number, budget: number): number {
    const base = `/proc/self/fd/${fd}`;
    for (const name of readdirSync(base)) {
      if (budget <= 0) return 0;
      const child = `${base}/${name}`;
      const st = lstatSync(child, { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) {
        let sub: number;
        try {
          sub = openSync(child, DIR_FLAGS);
        } catch (error) {
          // Swapped for a link or removed since the lstat: unlink what is there now, next tick.
          if (code(error) === "ENOTDIR" || code(error) === "ELOOP" || code(error) === "ENOENT") continue;
          throw error;
        }
        try {
          budget = drain(sub, budget);
        } finally {
          closeSync(sub);
        }
        if (budget <= 0) return 0;
        try {
          rmdirSync(child);
        } catch (error) {
          if (code(error) !== "ENOENT" && code(error) !== "ENOTEMPTY" && code(error) !== "ENOTDIR") throw error;
        }
      } else {
        unlinkSync(child);
      }
      budget--;
    }
    return budget;
  }

  const trash: Trash = {
    put(sandboxId, dirs, now = Date.now()) {
      for (const [kind, from] of Object.entries(dirs)) {
        try {
          renameSync(from, path.join(dir, `${now}-${sandboxId}-${kind}`));
        } catch (error) {
          if (code(error) !== "ENOENT") throw error;
        }
      }
    },

    reap(now = Date.now(), budget = batch) {
      let left = budget;
      for (const entry of entries()) {
        if (left <= 0 || now - entry.at < minAge) break;
        const abs = path.join(dir, entry.name);
        if (!lstatSync(abs).isDirectory()) {
          unlinkSync(abs);
          left--;
          continue;
        }
        const fd = openSync(abs, DIR_FLAGS);
        try {
          left = drain(fd, left);
        } finally {
          closeSync(fd);
        }
        if (left > 0) {
          rmdirSync(abs);
          left--;
        }
      }
      return budget - left;
    },

    status() {
      const list = entries();
      return { entries: list.length, oldestAt: list[0]?.at ?? null };
    },

    stop() {
      if (timer) clearInterval(timer);
    },
  };

  let timer: NodeJS.Timeout | undefined;
  const interval = options.intervalMs ?? 1000;
  if (interval > 0) {
    let running = false;
    timer = setInterval(() => {
      if (running || options.busy?.()) return;
      running = true;
      try {
        trash.reap();
      } catch (error) {
        log(`[torpor] trash: ${(error as Error).message}`);
      } finally {
        running = false;
      }
    }, interval);
    timer.unref();
  }
  // The trash must not be readable by other users (the killed sandboxes' files wait there).
  if ((statSync(dir).mode & 0o077) !== 0) log(`[torpor] trash: ${dir} is readable by others`);
  return trash;
}
