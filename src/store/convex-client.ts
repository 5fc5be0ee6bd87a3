/**
 * The wire between the Convex adapter and the functions in convex/: a client-like object (the real
 * ConvexHttpClient, or a convex-test instance in tests) plus the secret, and the mapping of the
 * functions' ConvexError payloads back into Torpor's typed errors.
 */
import type { FunctionReference } from "convex/server";
import {
  AuthError,
  ConflictError,
  NotFoundError,
  StorageError,
  TorporError,
  ValidationError,
  type ErrorCode,
} from "../core/errors";

/** What the adapter needs of a Convex client: ConvexHttpClient and convex-test both fit. */
export interface ConvexClientLike {
  query(reference: FunctionReference<"query">, args: Record<string, unknown>): Promise<unknown>;
  /** ConvexHttpClient queues mutations one at a time unless `skipQueue` is set (convex 1.48). */
  mutation(reference: FunctionReference<"mutation">, args: Record<string, unknown>, options?: { skipQueue?: boolean }): Promise<unknown>;
}

function fromWire(data: { code: string; message: string; details?: string }, cause: unknown): TorporError {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(data.details ?? "{}") as Record<string, unknown>;
  } catch {
    details = { raw: data.details };
  }
  const options = { cause, details };
  switch (data.code) {
    case "NOT_FOUND":
      return new NotFoundError(data.message, options);
    case "CONFLICT":
    case "LEASE_HELD":
    case "LEASE_LOST":
      return new ConflictError(data.code, data.message, options);
    case "UNAUTHORIZED":
    case "FORBIDDEN":
      return new AuthError(data.code, data.message, options);
    case "VALIDATION":
      return new ValidationError(data.message, options);
    default:
      return new TorporError(data.code as ErrorCode, data.message, options);
  }
}

/** Classifies any failure of a Convex call as a TorporError. */
export function convexError(error: unknown, what: string): TorporError {
  const data = (error as { data?: unknown } | null)?.data;
  if (data && typeof data === "object" && typeof (data as { code?: unknown }).code === "string") {
    return fromWire(data as { code: string; message: string; details?: string }, error);
  }
  if (error instanceof TorporError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // A Convex transaction limit (index ranges, documents or bytes read or written): the same call
  // hits the same limit again, so a retry cannot help; the query has to be bounded.
  if (/This is a Convex limit|Too many index ranges|Scanned too many documents|Read too much data|Wrote too (much|many)/i.test(message)) {
    return new StorageError("STORAGE_PERMANENT", `Convex call ${what} exceeded a Convex transaction limit: ${message}`, { cause: error });
  }
  if (/ArgumentValidationError|Validator error|does not match validator/i.test(message)) {
    return new ValidationError(`Convex refused the arguments of ${what}: ${message}`, { cause: error });
  }
  // A network failure or an unclassified server error: the call may succeed when retried.
  return new StorageError("STORAGE_TRANSIENT", `Convex call ${what} failed: ${message}`, { cause: error });
}

/** Calls Convex functions with the secret added, translating errors. */
export class ConvexWire {
  constructor(
    private readonly client: ConvexClientLike,
    private readonly secret: string,
  ) {}

  async query<T>(reference: FunctionReference<"query">, args: Record<string, unknown>, what: string): Promise<T> {
    try {
      return (await this.client.query(reference, { ...dropUndefined(args), secret: this.secret })) as T;
    } catch (error) {
      throw convexError(error, what);
    }
  }

  async mutation<T>(reference: FunctionReference<"mutation">, args: Record<string, unknown>, what: string): Promise<T> {
    try {
      // skipQueue: every mutation is its own transaction and none depends on the order of another
      // in flight (each carries its own lease check), so nothing is gained by queueing them behind
      // one another; queued, 50 concurrent calls at 50 ms took 2.7 s.
      return (await this.client.mutation(reference, { ...dropUndefined(args), secret: this.secret }, { skipQueue: true })) as T;
    } catch (error) {
      throw convexError(error, what);
    }
  }
}

/** Convex refuses `undefined` values in arguments: an absent optional field must be left out. */
function dropUndefined(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined) continue;
    out[key] = value !== null && typeof value === "object" && !Array.isArray(value) ? dropUndefined(value as Record<string, unknown>) : value;
  }
  return out;
}
