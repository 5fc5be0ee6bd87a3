/**
 * Retrying transient storage failures: a StorageError (or any TorporError) marked `retriable` is
 * tried again with exponential backoff and jitter; anything else is thrown at once.
 *
 * `withRetries(store)` wraps a whole ObjectStore. A put whose body is a stream cannot be replayed,
 * so callers that stream (large blobs) pass a body factory to `retryTransient` themselves.
 */
import type { Readable } from "node:stream";
import { TorporError } from "../core/errors";
import type { ObjectInfo, ObjectStore, PutOptions } from "./types";

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 2000 };

function isRetriable(error: unknown): boolean {
  return error instanceof TorporError && error.retriable;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `operation` until it succeeds, fails permanently, or runs out of attempts. */
export async function retryTransient<T>(operation: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetriable(error) || attempt >= policy.attempts) throw error;
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }
}

function isStream(body: unknown): body is Readable {
  return typeof body === "object" && body !== null && typeof (body as Readable).pipe === "function";
}

/** The same store, with every replayable operation retried on transient failures. */
export function withRetries(store: ObjectStore, policy: RetryPolicy = DEFAULT_RETRY): ObjectStore {
  if ((store as { retrying?: boolean }).retrying) return store;
  const wrapped: ObjectStore & { retrying: true } = {
    retrying: true,
    description: store.description,
    put(key: string, body: Buffer | Uint8Array | string | Readable, options?: PutOptions) {
      if (isStream(body)) return store.put(key, body, options);
      return retryTransient(() => store.put(key, body, options), policy);
    },
    getBuffer: (key, range) => retryTransient(() => store.getBuffer(key, range), policy),
    getStream: (key, range) => retryTransient(() => store.getStream(key, range), policy),
    head: (key) => retryTransient(() => store.head(key), policy),
    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      // A listing cannot resume mid-way through this interface: retry it whole, then hand it out.
      const all = await retryTransient(async () => {
        const items: ObjectInfo[] = [];
        for await (const item of store.list(prefix)) items.push(item);
        return items;
      }, policy);
      yield* all;
    },
    delete: (keys) => retryTransient(() => store.delete(keys), policy),
    check: () => retryTransient(() => store.check(), policy),
  };
  return wrapped;
}
