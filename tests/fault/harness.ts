/**
 * The fault tests' worker process: the real runtime (SQLite file, embedded S3 over the data dir,
 * local sandboxes, embedded engine) on a data dir shared with the test, which it continues runs
 * in, sends the given events to, and runs until idle. Faults it can inject on itself:
 * - crashAfterSteps: SIGKILL right after the Nth step result is journaled (a step boundary);
 * - crashAtPut: SIGKILL when the Nth object upload starts, after `crashDelayMs` (0: before it).
 * - crashInStep: SIGKILL inside the named step, after its first effect ("effect": a store write or
 *   a sandbox create/connect/pause/kill returned) or after all of them ("journal": right before
 *   its completed result would be journaled): the effect committed, the journal does not know.
 * It also reports `effects`: for each step, the store writes and sandbox calls made inside it (the
 * fault suite's list of transition steps).
 * Arguments: one JSON object in argv[2]. Prints one JSON line with what it did, then exits.
 */
import { loadConfig } from "../../src/core/config";
import { createRuntime } from "../../src/runtime";
import type { TorporEvent } from "../../src/workflows/types";
import { testEnv } from "../helpers/runtime";

interface HarnessArgs {
  dataDir: string;
  env?: Record<string, string>;
  send?: TorporEvent[];
  crashAfterSteps?: number;
  crashAtPut?: number;
  crashDelayMs?: number;
  crashInStep?: { step: string; at: "effect" | "journal" };
}

/** Calls that change something: a crash right after one leaves an effect the journal lacks. */
const STORE_WRITES = new Set(["acquireLease", "releaseLease", "transition", "updateSession", "createCheckpoint", "commitCheckpoint", "markChangesFlushed", "markCheckpointDeleted"]);
const SANDBOX_EFFECTS = new Set(["create", "connect", "pause", "kill"]);

const args = JSON.parse(process.argv[2] ?? "{}") as HarnessArgs;
const die = () => process.kill(process.pid, "SIGKILL");
let steps = 0;
let puts = 0;
/** The step running now (the embedded engine journals "running" before each attempt). */
let current: string | null = null;
const effects: Record<string, string[]> = {};
const effected = (what: string) => {
  if (current === null) return;
  (effects[current] ??= []).push(what);
  if (args.crashInStep?.at === "effect" && args.crashInStep.step === current) die();
};
/** Wraps the methods in `names` so that each call that resolves counts as an effect of the current step. */
function effectsOf<T extends object>(target: T, names: Set<string>, prefix: string): T {
  return new Proxy(target, {
    get(inner, key, receiver) {
      const value = Reflect.get(inner, key, receiver);
      if (typeof key !== "string" || !names.has(key) || typeof value !== "function") return value;
      return async (...call: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(inner, call);
        effected(`${prefix}.${key}`);
        return result;
      };
    },
  });
}

const runtime = await createRuntime(loadConfig(testEnv(args.dataDir, args.env)), {
  retry: { baseMs: 5, maxMs: 50 },
  log: () => {},
  wrapStore: (store) =>
    new Proxy(effectsOf(store, STORE_WRITES, "store"), {
      get(target, key, receiver) {
        if (key !== "recordStep") return Reflect.get(target, key, receiver);
        return async (...call: Parameters<typeof store.recordStep>) => {
          const [, record] = call;
          if (record.status === "completed" && args.crashInStep?.at === "journal" && args.crashInStep.step === record.name) die();
          await target.recordStep(...call);
          current = record.status === "running" ? record.name : null;
          if (call[1].status === "completed" && ++steps === args.crashAfterSteps) die();
        };
      },
    }),
  wrapSandboxes: (sandboxes) => effectsOf(sandboxes, SANDBOX_EFFECTS, "sandbox"),
  wrapObjects: (objects) =>
    new Proxy(objects, {
      get(target, key, receiver) {
        if (key !== "put") return Reflect.get(target, key, receiver);
        return async (...call: Parameters<typeof objects.put>) => {
          if (++puts === args.crashAtPut) {
            if (!args.crashDelayMs) die();
            setTimeout(die, args.crashDelayMs);
          }
          return target.put(...call);
        };
      },
    }),
});
const ids: string[] = [];
for (const event of args.send ?? []) ids.push(...(await runtime.dispatcher.send(event)).ids);
await runtime.engine!.idle();
process.stdout.write(`${JSON.stringify({ ids, steps, puts, effects })}\n`);
await runtime.close();
process.exit(0);
