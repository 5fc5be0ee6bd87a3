/**
 * The change feed of a host folder: one non-recursive fs.watch (one inotify watch) per folder,
 * debounced into batches of FileEvents with workspace-relative paths.
 *
 * Not `fs.watch(dir, { recursive: true })`: on Linux, Node 20 implements it in JavaScript and
 * blocked the event loop for 30 s while a shell wrote 2,000 files into one new folder (measured
 * here), which would stall the whole app during an `npm install`. Here a new folder gets its own
 * watch and is listed once (what was made in it before its watch started becomes events too); a
 * folder that goes away has its watches closed.
 *
 * fs.watch reports "rename" for creations, deletions and renames alike, so a "rename" is turned
 * into "write" when the path exists afterwards and "delete" when it does not. Within one batch a
 * path appears once, with its latest operation. Events are hints (the checkpoint's stat scan is
 * the safety net): a lost event costs a re-read, never data. A watch that cannot be set up (the
 * inotify limit) or that fails ends the feed through onError, so that the caller can probe.
 */
import { watch, type FSWatcher } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { FileEvent } from "../types";

export interface WatchFolderOptions {
  /** Quiet time before a batch is delivered. */
  debounceMs?: number;
  /** A batch is delivered at the latest this long after its first event, even while busy. */
  maxWaitMs?: number;
  onError?: (error: Error) => void;
}

/** Resolves once every folder present at the start is watched. */
export async function watchFolder(
  folder: string,
  onEvents: (events: FileEvent[]) => void,
  options: WatchFolderOptions = {},
): Promise<() => Promise<void>> {
  const debounceMs = options.debounceMs ?? 200;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const pending = new Map<string, FileEvent>();
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let firstAt = 0;
  let stopped = false;
  let classifying = Promise.resolve();

  const flush = (): void => {
    timer = undefined;
    if (stopped || pending.size === 0) return;
    const batch = [...pending.values()];
    pending.clear();
    onEvents(batch);
  };
  const schedule = (): void => {
    const now = Date.now();
    if (timer) clearTimeout(timer);
    else firstAt = now; // a new batch opens
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, firstAt + maxWaitMs - now)));
  };
  const note = (rel: string, operation: FileEvent["operation"], at: number): void => {
    pending.delete(rel);
    pending.set(rel, { path: rel, operation, at });
    schedule();
  };
  const closeAll = (): void => {
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
  const fail = (error: Error): void => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    closeAll();
    options.onError?.(error);
  };
  /** Closes the watches of a folder that went away, and of everything under it. */
  const forget = (rel: string): void => {
    for (const [dir, w] of watchers) {
      if (dir === rel || dir.startsWith(`${rel}/`)) {
        w.close();
        watchers.delete(dir);
      }
    }
  };

  /** Watches a folder and everything in it; with `report`, what it holds becomes events. */
  const add = async (rel: string, report: boolean): Promise<void> => {
    if (stopped || watchers.has(rel)) return;
    const abs = rel === "" ? folder : path.join(folder, rel);
    let w: FSWatcher;
    try {
      w = watch(abs, { persistent: false }, (eventType, filename) => {
        if (stopped || filename === null) return;
        const child = rel === "" ? filename.toString() : `${rel}/${filename.toString()}`;
        const at = Date.now();
        // Classify in order, so that a later event for a path never loses to an earlier one.
        classifying = classifying.then(() => classify(child, eventType, at));
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return;
      return fail(error as Error);
    }
    w.on("error", (error) => {
      // The top folder went away (sandbox killed), or inotify failed: the feed ends. A sub-folder
      // that went away only loses its own watch.
      if (rel === "") fail(error);
      else forget(rel);
    });
    watchers.set(rel, w);
    let names: import("node:fs").Dirent[];
    try {
      names = await fs.readdir(abs, { withFileTypes: true });
    } catch {
      return; // gone again: its "rename" event says so
    }
    const at = Date.now();
    for (const entry of names) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (report) note(child, "write", at);
      if (entry.isDirectory()) await add(child, report);
    }
  };

  const classify = async (rel: string, eventType: string, at: number): Promise<void> => {
    if (stopped) return;
    if (eventType !== "rename") return note(rel, "write", at);
    const st = await fs.lstat(path.join(folder, rel)).catch(() => null);
    if (stopped) return;
    if (st === null) {
      forget(rel);
      return note(rel, "delete", at);
    }
    note(rel, "write", at);
    // A new folder (made, or moved in): watched from now on, and what it already holds reported.
    if (st.isDirectory()) await add(rel, true);
  };

  await add("", false);
  if (stopped) return async () => undefined;

  return async () => {
    if (stopped) return;
    await classifying;
    flush();
    stopped = true;
    if (timer) clearTimeout(timer);
    closeAll();
  };
}
