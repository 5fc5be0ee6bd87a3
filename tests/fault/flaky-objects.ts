/**
 * An ObjectStore that fails a share of requests the way a network and S3 do: an error answer
 * (503), a timeout (the request hangs a little, then fails), a reset (an upload's body is sent,
 * then the connection drops; a download's stream breaks after its first chunk). Every fault is a
 * transient StorageError, as the S3 adapter classifies those failures. The random source is
 * seeded, so a failing run can be repeated.
 */
import { Readable, Transform } from "node:stream";
import { StorageError } from "../../src/core/errors";
import type { ObjectStore } from "../../src/objectstore/types";
import { seeded } from "../helpers/seeded";

/** Re-exported for the fault modules that take their seeded generator from here. */
export { seeded };

export interface FaultStats {
  requests: number;
  faults: number;
}

const transient = (what: string, key: string) =>
  new StorageError("STORAGE_TRANSIENT", `injected ${what} on '${key}'`, { details: { key, injected: true } });

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function flakyObjects(inner: ObjectStore, rate: number, seed: number, stats: FaultStats): ObjectStore {
  const random = seeded(seed);
  /** Which fault this request gets, if any. */
  const draw = (): "error" | "timeout" | "reset" | null => {
    stats.requests += 1;
    if (random() >= rate) return null;
    const r = random();
    return r < 0.4 ? "error" : r < 0.7 ? "timeout" : "reset";
  };
  const fail = async (fault: "error" | "timeout" | "reset", key: string): Promise<never> => {
    stats.faults += 1;
    if (fault === "timeout") await delay(20);
    throw transient(fault === "error" ? "503 SlowDown" : fault, key);
  };
  return {
    description: `flaky(${inner.description})`,
    async put(key, body, options) {
      const fault = draw();
      if (fault === "reset" && body instanceof Readable) {
        for await (const chunk of body) void chunk; // the body went out, the answer never came
        return fail(fault, key);
      }
      if (fault) return fail(fault, key);
      return inner.put(key, body, options);
    },
    async getBuffer(key, range) {
      const fault = draw();
      if (fault) return fail(fault, key);
      return inner.getBuffer(key, range);
    },
    async getStream(key, range) {
      const fault = draw();
      if (fault === "reset") {
        // The download breaks after its first chunk (a one-chunk object arrives whole).
        let chunks = 0;
        const breaking = new Transform({
          transform(chunk, _encoding, callback) {
            if (++chunks === 2) {
              stats.faults += 1;
              callback(transient("reset mid-download", key));
              return;
            }
            callback(null, chunk);
          },
        });
        const stream = await inner.getStream(key, range);
        stream.on("error", (error) => breaking.destroy(error));
        return stream.pipe(breaking);
      }
      if (fault) return fail(fault, key);
      return inner.getStream(key, range);
    },
    async head(key) {
      const fault = draw();
      if (fault) return fail(fault, key);
      return inner.head(key);
    },
    async *list(prefix) {
      const fault = draw();
      if (fault) await fail(fault, prefix);
      yield* inner.list(prefix);
    },
    async delete(keys) {
      const fault = draw();
      if (fault) return fail(fault, keys[0] ?? "");
      return inner.delete(keys);
    },
    check: () => inner.check(),
  };
}
