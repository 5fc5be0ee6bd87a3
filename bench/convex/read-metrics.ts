/**
 * What each Convex function read, from convex-test's own counter: with transactionLimits on it
 * counts every document a function receives from an index range or a get (and every index range)
 * against the 32,000-document / 4,096-range / 16 MiB limits (TransactionMetricsTracker). That
 * tracker is dropped when the top-level transaction ends, so its commit and rollback (a query
 * rolls back) are wrapped to keep the root layer's figures, attributed through AsyncLocalStorage
 * to the client call that started the transaction (right even when calls overlap).
 *
 * convex-test applies a query's .filter() before counting: a document a filter drops is not
 * counted, where a deployment counts it as scanned. The calls measured here drop nothing in a
 * filter (runs.list by_status filters on the status its index range already fixes; the sessions
 * lists pass an owner or nothing, never an owner and a state), so the two counts agree for them.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { getFunctionName, type FunctionReference } from "convex/server";
import { TransactionMetricsTracker } from "convex-test/dist/transactionMetrics.js";
import type { ConvexClientLike } from "../../src/store/convex";

export interface CallReads {
  fn: string;
  documentsRead: number;
  indexRanges: number;
  bytesRead: number;
  error?: string;
}
interface Metrics { documentsRead: number; databaseQueries: number; bytesRead: number }
interface Layered { _layers: { metrics: Metrics }[] }

const current = new AsyncLocalStorage<CallReads>();
let patched = false;

function keepRootMetrics(): void {
  if (patched) return;
  patched = true;
  const proto = TransactionMetricsTracker.prototype as unknown as Record<"commit" | "rollback", (this: Layered) => void>;
  for (const name of ["commit", "rollback"] as const) {
    const original = proto[name];
    proto[name] = function (this: Layered) {
      const call = current.getStore();
      if (call && this._layers.length === 1) {
        const m = this._layers[0]!.metrics;
        call.documentsRead = m.documentsRead;
        call.indexRanges = m.databaseQueries;
        call.bytesRead = m.bytesRead;
      }
      original.call(this);
    };
  }
}

interface Callable {
  query(ref: FunctionReference<"query">, args: never): Promise<unknown>;
  mutation(ref: FunctionReference<"mutation">, args: never): Promise<unknown>;
}

/** A ConvexClientLike over a convex-test instance that logs each call's reads into `log`. */
export function measuringClient(t: Callable, log: CallReads[]): ConvexClientLike {
  keepRootMetrics();
  const run = <T>(ref: FunctionReference<"query" | "mutation">, call: () => Promise<T>) => {
    const entry: CallReads = { fn: getFunctionName(ref), documentsRead: 0, indexRanges: 0, bytesRead: 0 };
    log.push(entry);
    return current.run(entry, async () => {
      try {
        return await call();
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
        throw error;
      }
    });
  };
  return {
    query: (ref, args) => run(ref, () => t.query(ref, args as never)),
    mutation: (ref, args) => run(ref, () => t.mutation(ref, args as never)),
  };
}
