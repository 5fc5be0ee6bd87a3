/**
 * The E2B change feed: files.watchDir on /workspace (recursive, no timeout), debounced into
 * batches of FileEvents with workspace-relative paths, one event per path per batch (the latest).
 * E2B's create/write/chmod are writes, remove is a delete, rename stays a rename.
 */
import { FilesystemEventType, type FilesystemEvent, type Sandbox } from "e2b";
import type { FileEvent } from "../types";
import { guard } from "./errors";
import { absolute } from "./scripts";

const MAX_WAIT_MS = 2000;

function operationOf(type: FilesystemEventType): FileEvent["operation"] {
  switch (type) {
    case FilesystemEventType.REMOVE:
      return "delete";
    case FilesystemEventType.RENAME:
      return "rename";
    default:
      return "write";
  }
}

export async function watchSandbox(
  sbx: Sandbox,
  sandboxId: string,
  onEvents: (events: FileEvent[]) => void,
  debounceMs: number,
): Promise<() => Promise<void>> {
  const pending = new Map<string, FileEvent>();
  let timer: NodeJS.Timeout | undefined;
  let firstAt = 0;
  const flush = (): void => {
    timer = undefined;
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending.clear();
    onEvents(batch);
  };
  const onEvent = (event: FilesystemEvent): void => {
    const rel = event.name.replace(/^\/workspace\/?/, "").replace(/^\.\//, "");
    if (rel === "") return;
    pending.delete(rel);
    pending.set(rel, { path: rel, operation: operationOf(event.type), at: Date.now() });
    const now = Date.now();
    if (timer) clearTimeout(timer);
    else firstAt = now;
    // Quiet for debounceMs, but a busy workspace still gets a batch at least every MAX_WAIT_MS.
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, firstAt + MAX_WAIT_MS - now)));
  };
  const handle = await guard("watch", sandboxId, () =>
    sbx.files.watchDir(absolute(""), onEvent, { recursive: true, timeoutMs: 0 }),
  );
  return async () => {
    if (timer) clearTimeout(timer);
    flush();
    await handle.stop();
  };
}
