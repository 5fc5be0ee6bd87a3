/**
 * The fault tests' worker process: the real runtime (SQLite file, embedded S3 over the data dir,
 * local sandboxes, embedded engine) on a data dir shared with the test, which it continues runs
 * in, sends the given events to, and runs until idle. Faults it can inject on itself:
 * - crashAfterSteps: SIGKILL right after the Nth step result is journaled (a step boundary);
 * - crashAtPut: SIGKILL when the Nth object upload starts, after `crashDelayMs` (0: before it).
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
}

const args = JSON.parse(process.argv[2] ?? "{}") as HarnessArgs;
const die = () => process.kill(process.pid, "SIGKILL");
let steps = 0;
let puts = 0;

const runtime = await createRuntime(loadConfig(testEnv(args.dataDir, args.env)), {
  retry: { baseMs: 5, maxMs: 50 },
  log: () => {},
  wrapStore: (store) =>
    new Proxy(store, {
      get(target, key, receiver) {
        if (key !== "recordStep") return Reflect.get(target, key, receiver);
        return async (...call: Parameters<typeof store.recordStep>) => {
          await target.recordStep(...call);
          if (call[1].status === "completed" && ++steps === args.crashAfterSteps) die();
        };
      },
    }),
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
process.stdout.write(`${JSON.stringify({ ids, steps, puts })}\n`);
await runtime.close();
process.exit(0);
