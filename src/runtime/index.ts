/**
 * The composition root: builds every adapter from a validated Config and wires the workflows to
 * an engine. The embedded default is SQLite + the filesystem object store + local sandboxes + the
 * in-process engine; each cloud adapter is chosen by its settings (see src/core/config).
 *
 * With the embedded engine, `createRuntime` continues runs a crash interrupted and (startCron)
 * starts the idle sweep and retention schedules. With Inngest, the dispatcher sends events to
 * Inngest and the runtime's deps are what the functions served at /api/inngest run against.
 */
import { checkpointEngineFromConfig } from "../checkpoint/engine/from-config";
import type { CheckpointEngine } from "../checkpoint/types";
import type { Config } from "../core/config";
import { describeError } from "../core/errors";
import { createLog, type Log } from "../core/log";
import { createEmbeddedEngine, type EmbeddedEngine } from "../engine";
import { createInngestClient, createInngestDispatcher } from "../engine/inngest";
import type { ObjectStore } from "../objectstore/types";
import { openObjectStore } from "../objectstore/open";
import { openSandboxProvider } from "../sandbox";
import type { SandboxProvider } from "../sandbox/types";
import { openStateStore } from "../store";
import type { StateStore } from "../store/types";
import { createWorkflows, type AnyWorkflow } from "../workflows";
import { createChangeFeed, type ChangeFeed } from "./change-feed";
import { secureDataDir } from "./data-dir";
import type { WorkflowDeps, WorkflowDispatcher } from "../workflows/types";

export interface Runtime {
  config: Config;
  store: StateStore;
  objects: ObjectStore;
  /** The object store's endpoint (`file://<data dir>/s3` for the embedded store, which has no listener). */
  objectStoreEndpoint: string;
  checkpoints: CheckpointEngine;
  sandboxes: SandboxProvider;
  /** What workflows run against (the same ports as above). */
  deps: WorkflowDeps;
  dispatcher: WorkflowDispatcher;
  /** Present when the workflow engine is the embedded one. */
  engine?: EmbeddedEngine;
  /** Present on a long-lived host (see RuntimeOptions.changeFeed): running sessions' file changes. */
  changeFeed?: ChangeFeed;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Start the cron schedules (idle sweep, retention) of the embedded engine. Default false. */
  startCron?: boolean;
  /** Tests: wrap the state store (fault injection: a crash right after a journal write). */
  wrapStore?: (store: StateStore) => StateStore;
  /** Tests: wrap the object store (fault injection) before the checkpoint engine uses it. */
  wrapObjects?: (objects: ObjectStore) => ObjectStore;
  /** Tests: wrap the sandbox provider (a provider that loses sandboxes). */
  wrapSandboxes?: (sandboxes: SandboxProvider) => SandboxProvider;
  /**
   * Watch running sessions' sandboxes (src/runtime/change-feed): their file changes become change
   * rows and activity. Default: on with the embedded engine's cron (a long-lived host).
   */
  changeFeed?: boolean | { syncEveryMs?: number };
  /** Continue interrupted runs of the embedded engine at start. Default true. */
  continueRuns?: boolean;
  /** Step retry backoff of the embedded engine. */
  retry?: { baseMs?: number; maxMs?: number };
  /** Default: the definitions of src/workflows for this config. */
  workflows?: AnyWorkflow[];
  now?: () => number;
  log?: Log;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const log: Log = options.log ?? createLog(config.logLevel);
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => log(`close: ${describeError(error)}`));
    }
  };
  try {
    secureDataDir(config.dataDir);
    const baseStore = openStateStore(config.stateStore);
    closers.push(() => baseStore.close());
    const store = options.wrapStore ? options.wrapStore(baseStore) : baseStore;
    const opened = await openObjectStore(config.objectStore);
    closers.push(() => opened.close());
    const objects = options.wrapObjects ? options.wrapObjects(opened.objects) : opened.objects;
    // One factory with the CLI: the same settings (ignore file included) for both.
    const { engine: checkpoints } = await checkpointEngineFromConfig(config.checkpoint, objects);
    const provider = openSandboxProvider(config.sandbox, log);
    const sandboxes = options.wrapSandboxes ? options.wrapSandboxes(provider) : provider;
    const now = options.now ?? (() => Date.now());
    const deps: WorkflowDeps = { config, store, checkpoints, sandboxes, now, log };

    let engine: EmbeddedEngine | undefined;
    let dispatcher: WorkflowDispatcher;
    if (config.workflowEngine.kind === "embedded") {
      const embedded = createEmbeddedEngine({
        store,
        deps,
        workflows: options.workflows ?? createWorkflows(config),
        retry: options.retry,
        now,
        onRunFailed: (run) => log(`run ${run.id} (${run.workflow}) failed: ${run.error}`, "error"),
      });
      closers.push(() => embedded.stop());
      await embedded.start({ cron: options.startCron ?? false, continueRuns: options.continueRuns ?? true });
      engine = embedded;
      dispatcher = embedded;
    } else {
      dispatcher = createInngestDispatcher(createInngestClient(config));
    }
    const feedOption = options.changeFeed ?? (engine !== undefined && options.startCron === true);
    let changeFeed: ChangeFeed | undefined;
    if (feedOption) {
      const feed = createChangeFeed({ store, sandboxes, checkpoints, config, now, log, ...(typeof feedOption === "object" ? feedOption : {}) });
      closers.push(() => feed.close());
      // At start: every session left running (an app restart) is watched again, and probed.
      await feed.sync();
      changeFeed = feed;
    }
    return {
      config,
      store,
      objects,
      objectStoreEndpoint: opened.endpoint,
      checkpoints,
      sandboxes,
      deps,
      dispatcher,
      engine,
      changeFeed,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
