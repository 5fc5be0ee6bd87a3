/**
 * The change feed of a host folder: fs.watch (recursive; Node 20 on Linux walks sub-folders and
 * follows new ones), debounced into batches of FileEvents with workspace-relative paths.
 *
 * fs.watch reports "rename" for creations, deletions and renames alike, so a "rename" is turned
 * into "write" when the path exists afterwards and "delete" when it does not. Within one batch a
 * path appears once, with its latest operation. Events are hints (the checkpoint's stat scan is
 * the safety net): a lost event costs a re-read, never data.
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

export function watchFolder(
  folder: string,
  onEvents: (events: FileEvent[]) => void,
  options: WatchFolderOptions = {},
): () => Promise<void> {
  const debounceMs = options.debounceMs ?? 200;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const pending = new Map<string, FileEvent>();
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

  const watcher: FSWatcher = watch(folder, { recursive: true }, (eventType, filename) => {
    if (stopped || filename === null) return;
    const rel = filename.toString().split(path.sep).join("/");
    const at = Date.now();
    // Classify in order, so that a later event for a path never loses to an earlier one.
    classifying = classifying.then(async () => {
      let operation: FileEvent["operation"] = "write";
      if (eventType === "rename") {
        operation = await fs.lstat(path.join(folder, rel)).then(() => "write" as const, () => "delete" as const);
      }
      if (stopped) return;
      pending.delete(rel);
      pending.set(rel, { path: rel, operation, at });
      schedule();
    });
  });
  watcher.on("error", (error) => {
    // The folder itself went away (sandbox killed): the feed ends.
    stopped = true;
    if (timer) clearTimeout(timer);
    watcher.close();
    options.onError?.(error);
  });

  return async () => {
    if (stopped) return;
    await classifying;
    flush();
    stopped = true;
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
