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
 *
 * The folder is the sandbox's and changes under us: every folder is opened by descriptors from
 * the root (src/localfs, a symlink among its components refused) and watched and listed through
 * that descriptor, and a path is classified with an lstat in its parent's descriptor. So a folder
 * swapped for a link to a host folder is never watched or listed: its names never become change
 * rows, and the host's tree never costs inotify watches.
 */
import { closeSync, lstatSync, watch, type FSWatcher, type Stats } from "node:fs";
import fs from "node:fs/promises";
import { at as fdPath, DirChain, openDirAt, openRoot } from "../../localfs";
import type { FileEvent } from "../types";

/** Folder `rel` of `root` opened by descriptors, one component at a time; null unless it is a real folder now. */
function openFolder(root: string, rel: string): number | null {
  let fd = openRoot(root);
  for (const name of rel === "" ? [] : rel.split("/")) {
    if (fd === null) return null;
    const parent: number = fd;
    try {
      fd = openDirAt(parent, name, rel, name, true);
    } finally {
      closeSync(parent);
    }
  }
  return fd;
}

export interface WatchFolderOptions {
  /** Quiet time before a batch is delivered. */
  debounceMs?: number;
  /** A batch is delivered at the latest this long after its first event, even while busy. */
  maxWaitMs?: number;
  /** Paths waiting to be classified before the feed counts as overflowed (ends through onError). Default 10,000. */
  maxQueued?: number;
  onError?: (error: Error) => void;
}

/**
 * What is at `rel` now, looked up without following a link on the way (null: nothing there).
 * `dirs` keeps the folders of consecutive lookups open (a restore or a build makes thousands of
 * events in a few folders): one open per new folder, not one per path component per event.
 */
function lstatInFolder(dirs: DirChain, rel: string): Stats | null {
  const slash = rel.lastIndexOf("/");
  let parent: number | null;
  try {
    parent = dirs.folder(slash < 0 ? [] : rel.slice(0, slash).split("/"), rel);
  } catch {
    return null; // a link or no folder on the way: nothing is at `rel` as the workspace sees it
  }
  if (parent === null) return null;
  try {
    return lstatSync(fdPath(parent, rel.slice(slash + 1)), { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** Resolves once every folder present at the start is watched. */
export async function watchFolder(
  folder: string,
  onEvents: (events: FileEvent[]) => void,
  options: WatchFolderOptions = {},
): Promise<() => Promise<void>> {
  const debounceMs = options.debounceMs ?? 200;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const maxQueued = options.maxQueued ?? 10_000;
  const pending = new Map<string, FileEvent>();
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let firstAt = 0;
  let stopped = false;
  /** Paths with an event not yet classified, oldest first; a path's newer event replaces its older. */
  const queued = new Map<string, { eventType: string; at: number }>();
  let classifying: Promise<void> = Promise.resolve();
  let draining = false;
  let closing = false;
  const dirs = new DirChain(folder);

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
    dirs.close();
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
    if (stopped || closing || watchers.has(rel)) return;
    let dirFd: number | null;
    try {
      dirFd = openFolder(folder, rel);
    } catch (error) {
      if (rel === "") return fail(error as Error);
      return; // not a folder we may read any more (a link, an error): its events say what it is
    }
    if (dirFd === null) return;
    // The descriptor's /proc path names the folder that was opened, whatever is swapped in later.
    const abs = fdPath(dirFd);
    let w: FSWatcher;
    try {
      w = watch(abs, { persistent: false }, (eventType, filename) => {
        if (stopped || filename === null) return;
        const child = rel === "" ? filename.toString() : `${rel}/${filename.toString()}`;
        enqueue(child, eventType, Date.now());
      });
    } catch (error) {
      closeSync(dirFd);
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
    } finally {
      closeSync(dirFd);
    }
    const at = Date.now();
    for (const entry of names) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (report) note(child, "write", at);
      if (entry.isDirectory()) await add(child, report);
    }
  };

  /**
   * Queues a path for classification. The queue holds each path once (classification reads what
   * is there now, so the latest event is the one that counts), and a sandbox that makes more
   * distinct paths than MAX_QUEUED faster than they are classified (or swaps folders in a loop)
   * overflows the feed, which ends it (onError: the caller probes instead), never the event loop.
   */
  const enqueue = (rel: string, eventType: string, at: number): void => {
    const earlier = queued.get(rel);
    queued.delete(rel);
    queued.set(rel, { eventType: earlier?.eventType === "rename" ? "rename" : eventType, at });
    if (queued.size > maxQueued) return fail(new Error(`change feed overflow: more than ${maxQueued} paths waiting to be classified`));
    if (!draining) {
      draining = true;
      classifying = drain();
    }
  };
  const drain = async (): Promise<void> => {
    try {
      let sinceYield = 0;
      while (!stopped && queued.size > 0) {
        const [rel, event] = queued.entries().next().value as [string, { eventType: string; at: number }];
        queued.delete(rel);
        await classify(rel, event.eventType, event.at);
        // Classification is mostly synchronous: let I/O and timers in between batches.
        if (++sinceYield === 200) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
        }
      }
    } catch (error) {
      fail(error as Error);
    } finally {
      draining = false;
    }
  };

  const classify = async (rel: string, eventType: string, at: number): Promise<void> => {
    if (stopped) return;
    if (eventType !== "rename") return note(rel, "write", at);
    const st = lstatInFolder(dirs, rel);
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
    // No new events (and no new watches) from here on: what is queued is classified and delivered.
    closing = true;
    closeAll();
    await classifying;
    flush();
    stopped = true;
    if (timer) clearTimeout(timer);
    closeAll();
  };
}
