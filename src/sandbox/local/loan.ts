/**
 * Lending a quiet sandbox's workspace folder to a restore (SandboxProvider.lendQuietWorkspace):
 * the restore then writes it with the checkpoint engine's own folder writer, on its threads,
 * instead of one-thread checked writes. Safe because nothing hostile can reach the folder while it
 * is lent: only a sandbox whose record says no process ever started (`processStarted`, written
 * before every spawn; older records count as started) and whose folder is empty is lent; while
 * the loan is out (`loan: "out"` in the record) exec and the start command are refused (the
 * provider's refuseWhileLent); release(true) hands the files to the sandbox's uid, release(false)
 * empties the folder. A loan a crashed process left out is taken back by the next one, which
 * empties the folder: only ever written by us, no process has seen it.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { WorkspaceLoan } from "../types";
import { handOver } from "./spawn";
import { readLiveState, readState, sandboxDirs, writeState } from "./state";

export interface LoanContext {
  root: string;
  log: (msg: string) => void;
  bwrap: string | null;
  /** The provider's per-sandbox lock: a release runs after whatever is queued for the sandbox. */
  serial<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** Sandboxes whose workspace this process has lent out. */
  loans: Set<string>;
  /** The provider's count of running writes into workspaces: the trash waits while any runs. */
  writes: { begin(): void; end(): void };
}

/** Called under the provider's lock for `id`. Null: not quiet (a process started, or files in it). */
export async function lendQuietWorkspace(ctx: LoanContext, id: string): Promise<WorkspaceLoan | null> {
  const { root, log, bwrap, loans } = ctx;
  const state = await readLiveState(root, id);
  // One loan at a time; "out" on disk without one here is a loan a crashed process left.
  if (state.processStarted !== false || loans.has(id)) return null;
  const workspace = sandboxDirs(root, id).workspace;
  const names = await fs.readdir(workspace);
  if (names.length > 0 && state.loan !== "out") return null;
  try {
    await emptyFolder(workspace, names);
  } catch (error) {
    log(`[torpor] emptying the unfinished restore in ${id} failed, restoring with checked writes: ${(error as Error).message}`);
    return null;
  }
  state.loan = "out";
  await writeState(root, state);
  loans.add(id);
  ctx.writes.begin();
  let released = false;
  return {
    folder: workspace,
    release: (restored: boolean) =>
      ctx.serial(id, async () => {
        if (released) return;
        released = true;
        try {
          const now = await readState(root, id);
          if (now.status === "gone") return; // killed meanwhile: its folder went to the trash
          if (!restored) await emptyFolder(workspace, await fs.readdir(workspace));
          await handOver({ bwrap, state: now, dirs: sandboxDirs(root, id) }, "all", log);
          delete now.loan;
          await writeState(root, now);
        } finally {
          loans.delete(id);
          ctx.writes.end();
        }
      }),
  };
}

/** Removes everything in a folder (rm never follows a symlink: a link is removed, not its target). */
async function emptyFolder(folder: string, names: string[]): Promise<void> {
  for (const name of names) await fs.rm(path.join(folder, name), { recursive: true, force: true });
}
