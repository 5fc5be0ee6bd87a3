/**
 * Typed Torpor errors → tRPC error codes. Matched on `code` rather than `instanceof`: the runtime
 * may be built in another bundle (the start command's) than the route handler (Next's), and each
 * bundle has its own copy of the error classes.
 */
import { TRPCError } from "@trpc/server";
import type { ErrorCode } from "../core/errors";

type TRPCCode = TRPCError["code"];

const CODES: Record<ErrorCode, TRPCCode> = {
  CONFIG_INVALID: "INTERNAL_SERVER_ERROR",
  VALIDATION: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  LEASE_HELD: "CONFLICT",
  LEASE_LOST: "CONFLICT",
  INTEGRITY: "UNPROCESSABLE_CONTENT",
  UNSAFE_PATH: "BAD_REQUEST",
  STORAGE_TRANSIENT: "SERVICE_UNAVAILABLE",
  STORAGE_PERMANENT: "INTERNAL_SERVER_ERROR",
  SANDBOX_GONE: "PRECONDITION_FAILED",
  SANDBOX_NOT_FOUND: "NOT_FOUND",
  TIMEOUT: "TIMEOUT",
  PROVIDER: "BAD_GATEWAY",
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  SCHEMA_MISMATCH: "INTERNAL_SERVER_ERROR",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

function torporCode(error: unknown): ErrorCode | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && code in CODES ? (code as ErrorCode) : undefined;
}

/** A TRPCError with the original message (which names the thing) and the Torpor code as cause. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  const code = torporCode(error);
  if (code === undefined) {
    return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: (error as Error)?.message ?? String(error), cause: error });
  }
  return new TRPCError({ code: CODES[code], message: (error as Error).message, cause: error });
}

export function torporErrorCode(error: unknown): ErrorCode | undefined {
  return torporCode(error);
}
