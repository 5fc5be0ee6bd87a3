/**
 * The change feed of running sessions, for a long-lived host (the embedded runtime with its cron:
 * `npm start`, the worker). Terms:
 * - watcher: the provider's `watch` of one session's sandbox (inotify for local folders, E2B's
 *   watchDir), started for every running session and stopped once the session is not running.
 * - window: events are coalesced per path for `windowMs` (TORPOR_CHANGE_COALESCE_MS); each window
 *   makes at most one recordChanges per 1,000 paths and one recordActivity per session, so a build
 *   writing 10,000 files costs a bounded number of store writes, not 10,000.
 * - probe: a stat scan of the sandbox compared with its latest checkpoint's manifest (or with the
 *   previous probe), whose differences become change rows. It runs when a watcher starts (changes
 *   made while nobody watched: an app restart, a resume) and when a watcher says it dropped events
 *   (its folder watch failed): a lost watcher falls back to the probe, never to silence.
 *
 * Rows and activity are written only for a session that is running and not held by a lifecycle
 * workflow: a hibernate's own checkpoint covers what its sandbox wrote meanwhile (local sandboxes
 * are frozen before it reads them; the archive compares the sandbox with the manifest anyway), and
 * a write from the feed must not make the hibernate it races with look like user activity.
 * Change rows are hints: the checkpoint's full stat scan stays the safety net. A session whose
 * activity policy is "api" gets the rows but no recordActivity (src/core/session-policy).
 */
import { compareScan } from "../checkpoint/engine/compare";
import type { CheckpointEngine, ManifestEntry, ScanEntry } from "../checkpoint/types";
import type { Config } from "../core/config";
import { describeError, isTorporError } from "../core/errors";
import { isLeaseLive } from "../core/lifecycle";
import { sandboxChangesAreActivity } from "../core/session-policy";
import type { Session } from "../core/types";
import type { FileEvent, SandboxProvider } from "../sandbox/types";
import type { NewChange, StateStore } from "../store/types";

/** Rows per recordChanges call: a Convex mutation stays well inside its document limits. */
const ROWS_PER_WRITE = 1000;
/** A dropped watcher is set up again this long after its probe. */
const REWATCH_AFTER_MS = 1000;
/** How often the running sessions are listed when no period is given. */
const SYNC_EVERY_MS = 2000;

export interface ChangeFeedOptions {
  store: StateStore;
  sandboxes: SandboxProvider;
  checkpoints: CheckpointEngine;
  config: Config;
  now(): number;
  log(message: string): void;
  /** How often running sessions are listed (new ones watched, others stopped). 0: only on sync(). */
  syncEveryMs?: number;
}

export interface ChangeFeedStats {
  watched: number;
  events: number;
  /** recordChanges and recordActivity calls that wrote (the cost the window bounds). */
  storeWrites: number;
  rows: number;
  probes: number;
  /** Events dropped because their session was not running or was held by a workflow. */
  dropped: number;
}

export interface ChangeFeed {
  /** Watches every running session not watched yet and stops the others. */
  sync(): Promise<void>;
  /** Writes every open window now (tests, shutdown). */
  flush(): Promise<void>;
  stats(): ChangeFeedStats;
  close(): Promise<void>;
}

interface Watched {
  sandboxId: string;
  stop: (() => Promise<void>) | null;
  window: Map<string, NewChange & { at: number }>;
  timer: NodeJS.Timeout | undefined;
  /** Writes of this session run one at a time. */
  chain: Promise<void>;
  /** The previous probe's scan: the next probe reports only what moved since. */
  lastScan: ScanEntry[] | null;
}

export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { store, sandboxes, checkpoints, config, now, log } = options;
  const windowMs = config.lifecycle.changeCoalesceMs;
  const watched = new Map<string, Watched>();
  const stats: ChangeFeedStats = { watched: 0, events: 0, storeWrites: 0, rows: 0, probes: 0, dropped: 0 };
  let closed = false;
  let syncing: Promise<void> | null = null;

  const serial = (w: Watched, work: () => Promise<void>): Promise<void> => {
    w.chain = w.chain.then(work).catch((error: unknown) => log(`change feed: ${describeError(error)}`));
    return w.chain;
  };

  /**
   * The session as the feed may write for it, or null: not running, another sandbox, or leased
   * by a workflow that is about to stop the sandbox (a hibernate's lease before its state moves:
   * its own stat scan saves what the sandbox holds). A snapshot's lease (a flush or a manual
   * checkpoint) leaves the sandbox running: what changes meanwhile must still become rows, or a
   * write made after the flush's scan would wait for the next probe (rows stamped after the
   * flush's cut-off stay pending when it commits, see markChangesFlushed).
   */
  async function writable(sessionId: string, w: Watched): Promise<Session | null> {
    const session = await store.findSession(sessionId);
    if (!session || session.state !== "running" || session.sandboxId !== w.sandboxId) return null;
    return isLeaseLive(session.lease, now()) && session.lease!.operation !== "snapshot" ? null : session;
  }

  async function record(sessionId: string, w: Watched, changes: (NewChange & { at: number })[], activity: boolean): Promise<void> {
    if (changes.length === 0) return;
    const session = await writable(sessionId, w);
    if (!session) {
      stats.dropped += changes.length;
      return;
    }
    for (let i = 0; i < changes.length; i += ROWS_PER_WRITE) {
      stats.rows += await store.recordChanges(sessionId, changes.slice(i, i + ROWS_PER_WRITE));
      stats.storeWrites++;
    }
    // Under the session's "api" policy its own processes' changes are saved (the rows above) but
    // do not keep it awake: only API calls do.
    if (!activity || !sandboxChangesAreActivity(session)) return;
    const at = changes.reduce((latest, c) => Math.max(latest, c.at), 0);
    const result = await store.recordActivity(sessionId, { at, kind: "file", coalesceMs: config.lifecycle.activityCoalesceMs });
    if (result.written) stats.storeWrites++;
  }

  function flushWindow(sessionId: string, w: Watched): Promise<void> {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    const changes = [...w.window.values()];
    w.window.clear();
    return serial(w, () => record(sessionId, w, changes, true));
  }

  function onEvents(sessionId: string, w: Watched, events: FileEvent[]): void {
    const at = now();
    for (const event of events) {
      stats.events++;
      w.window.delete(event.path);
      w.window.set(event.path, { path: event.path, operation: event.operation, at });
    }
    w.timer ??= setTimeout(() => void flushWindow(sessionId, w), windowMs);
  }

  /** Scan vs the previous probe (or the latest checkpoint): what moved becomes change rows. */
  async function probe(sessionId: string, w: Watched, why: "start" | "dropped"): Promise<void> {
    stats.probes++;
    const session = await writable(sessionId, w);
    if (!session) return;
    const scan = await sandboxes.scan(w.sandboxId);
    let before: ManifestEntry[] = w.lastScan ?? [];
    if (!w.lastScan && session.latestCheckpointId) before = (await checkpoints.readManifest(session.latestCheckpointId)).entries;
    w.lastScan = scan;
    const comparison = compareScan(scan, before, config.checkpoint.ignore, Number.POSITIVE_INFINITY);
    if (comparison.same) return;
    const pending = new Set((await store.listPendingChanges(sessionId)).map((c) => c.path));
    const at = now();
    const changes = comparison.first
      .filter((d) => !pending.has(d.path))
      .map((d) => ({ path: d.path, operation: d.why === "removed" ? ("delete" as const) : ("write" as const), at }));
    // What a start probe finds happened at unknown times: rows, not activity.
    await record(sessionId, w, changes, why === "dropped");
  }

  async function start(sessionId: string, sandboxId: string): Promise<void> {
    const w: Watched = { sandboxId, stop: null, window: new Map(), timer: undefined, chain: Promise.resolve(), lastScan: null };
    watched.set(sessionId, w);
    const live = () => watched.get(sessionId) === w && !closed;
    const onDropped = (reason: string) => {
      if (!live()) return;
      log(`change feed of session '${sessionId}' dropped events (${reason}): probing, then watching again`);
      w.stop = null;
      void serial(w, async () => {
        await probe(sessionId, w, "dropped");
        // Not at once: a watch that cannot be set up (the inotify limit) would spin. Until it is
        // back, a probe per attempt is the feed.
        await new Promise((resolve) => setTimeout(resolve, REWATCH_AFTER_MS).unref());
        if (!live()) return;
        const stopWatching = await sandboxes.watch(sandboxId, (events) => onEvents(sessionId, w, events), onDropped).catch((error: unknown) => {
          onDropped(describeError(error));
          return null;
        });
        if (stopWatching && !live()) return stopWatching();
        if (!stopWatching) return;
        w.stop = stopWatching;
        // What changed between the probe and the new watch.
        await probe(sessionId, w, "dropped");
      });
    };
    try {
      w.stop = await sandboxes.watch(sandboxId, (events) => onEvents(sessionId, w, events), onDropped);
    } catch (error) {
      if (isTorporError(error, "SANDBOX_GONE") || isTorporError(error, "SANDBOX_NOT_FOUND")) return;
      log(`change feed: cannot watch session '${sessionId}': ${describeError(error)}`);
    }
    await serial(w, () => probe(sessionId, w, "start"));
  }

  async function stop(sessionId: string, w: Watched): Promise<void> {
    watched.delete(sessionId);
    const stopWatching = w.stop;
    w.stop = null;
    await stopWatching?.().catch((error: unknown) => log(`change feed: stop of '${sessionId}': ${describeError(error)}`));
    await flushWindow(sessionId, w);
  }

  async function syncOnce(): Promise<void> {
    const running = await store.listSessions({ state: "running", limit: 1000 });
    const wanted = new Map(running.filter((s) => s.sandboxId).map((s) => [s.id, s.sandboxId!]));
    for (const [sessionId, w] of [...watched]) {
      if (wanted.get(sessionId) !== w.sandboxId) await stop(sessionId, w);
    }
    for (const [sessionId, sandboxId] of wanted) {
      if (!watched.has(sessionId) && !closed) await start(sessionId, sandboxId);
    }
    stats.watched = watched.size;
  }

  const sync = (): Promise<void> => {
    // One sync at a time: a slow store must not start two watchers for one session.
    syncing ??= syncOnce().finally(() => (syncing = null));
    return syncing;
  };

  const every = options.syncEveryMs ?? SYNC_EVERY_MS;
  const timer = every > 0 ? setInterval(() => void sync().catch((error: unknown) => log(`change feed: ${describeError(error)}`)), every) : undefined;
  timer?.unref();

  return {
    sync,
    async flush() {
      await Promise.all([...watched].map(([sessionId, w]) => flushWindow(sessionId, w)));
    },
    stats: () => ({ ...stats, watched: watched.size }),
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await syncing?.catch(() => undefined);
      for (const [sessionId, w] of [...watched]) await stop(sessionId, w);
    },
  };
}
