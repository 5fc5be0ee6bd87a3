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

/**
 * A Node system error (errno code) said without its host paths: a caller learns what went wrong
 * (a full disk, a name too long) but not where the data dir is (a 300-character name once
 * answered 500 "ENAMETOOLONG …/sandboxes/sbx_…/workspace/…").
 */
function systemError(error: unknown): TRPCError | undefined {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!(error instanceof Error) || typeof errno !== "string" || !/^E[A-Z0-9]+$/.test(errno)) return undefined;
  const syscall = (error as NodeJS.ErrnoException).syscall;
  switch (errno) {
    case "ENOSPC":
    case "EDQUOT":
      return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `The server's disk is full (${errno}): free space in the data dir and retry`, cause: error });
    case "ENAMETOOLONG":
      return new TRPCError({ code: "BAD_REQUEST", message: "A file name is too long (at most 255 bytes per name, 4,096 per path)", cause: error });
    default:
      return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: `A file system call failed on the server (${syscall ?? "?"}: ${errno})`, cause: error });
  }
}

/** A TRPCError with the original message (which names the thing) and the Torpor code as cause. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  const code = torporCode(error);
  if (code === undefined) {
    return systemError(error) ?? new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: (error as Error)?.message ?? String(error), cause: error });
  }
  return new TRPCError({ code: CODES[code], message: (error as Error).message, cause: error });
}

export function torporErrorCode(error: unknown): ErrorCode | undefined {
  return torporCode(error);
}
