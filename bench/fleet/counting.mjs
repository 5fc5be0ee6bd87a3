/**
 * Counting wrappers of the fleet benchmark: rows a StateStore returns (per method) and requests an
 * ObjectStore receives (per kind, with bytes and listed keys).
 */
import { PassThrough } from "node:stream";

export const fmtN = (n) => n.toLocaleString("en-US");
/** Rows the store returns, per method; the engine's journal is not counted. */
const JOURNAL = new Set(["createRun", "getRun", "recordStep", "finishRun", "setRunStatus", "setRunProgress"]);
export function countingStore(inner, counts) {
  const rowsOf = (value) => {
    if (Array.isArray(value)) return value.length;
    if (value && Array.isArray(value.sessions)) return value.sessions.length;
    if (value && typeof value === "object" && "session" in value) return 1;
    return value && typeof value === "object" && "id" in value ? 1 : 0;
  };
  return new Proxy(inner, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== "function" || JOURNAL.has(prop) || prop === "close") return value;
      return async (...args) => {
        const result = await value.apply(target, args);
        counts.calls[prop] = (counts.calls[prop] ?? 0) + 1;
        counts.rows[prop] = (counts.rows[prop] ?? 0) + rowsOf(result);
        return result;
      };
    },
  });
}
export const newCounts = () => ({ calls: {}, rows: {} });
export const total = (o) => Object.values(o).reduce((a, b) => a + b, 0);
export const breakdown = (c) =>
  Object.keys(c.rows)
    .sort((a, b) => c.rows[b] - c.rows[a])
    .map((m) => `${m} ${fmtN(c.rows[m])} rows/${fmtN(c.calls[m])} calls`)
    .join(", ");

export function countingObjects(inner, c) {
  const bump = (kind, bytes = 0) => {
    c[kind] = (c[kind] ?? 0) + 1;
    if (bytes) c[`${kind}Bytes`] = (c[`${kind}Bytes`] ?? 0) + bytes;
  };
  return {
    description: inner.description,
    async put(key, body, options) {
      bump("PUT", typeof body === "string" ? Buffer.byteLength(body) : (body.length ?? options?.contentLength ?? 0));
      return inner.put(key, body, options);
    },
    async getBuffer(key, range) {
      const b = await inner.getBuffer(key, range);
      bump("GET", b.length);
      return b;
    },
    async getStream(key, range) {
      const s = await inner.getStream(key, range);
      bump("GET");
      const counter = new PassThrough();
      counter.on("data", (chunk) => (c.GETBytes = (c.GETBytes ?? 0) + chunk.length));
      s.on("error", (e) => counter.destroy(e));
      return s.pipe(counter);
    },
    async head(key) {
      bump("HEAD");
      return inner.head(key);
    },
    async *list(prefix) {
      bump("LIST");
      let keys = 0;
      try {
        for await (const item of inner.list(prefix)) {
          keys++;
          yield item;
        }
      } finally {
        c.LISTkeys = (c.LISTkeys ?? 0) + keys;
        c.LISTpages = (c.LISTpages ?? 0) + Math.max(1, Math.ceil(keys / 1000));
      }
    },
    async delete(keys) {
      if (keys.length) c.DELETE = (c.DELETE ?? 0) + keys.length;
      return inner.delete(keys);
    },
    check: () => inner.check(),
  };
}
