/**
 * Torpor's typed errors. Every failure that crosses a module boundary is one of these, so that
 * callers (workflows, tRPC, the CLI) can decide on `code` instead of parsing messages.
 *
 * `retriable` says whether trying the same thing again may succeed (a transient network or
 * storage fault); workflows turn non-retriable errors into NonRetriableError.
 */

export type ErrorCode =
  | "CONFIG_INVALID"
  | "VALIDATION"
  | "NOT_FOUND"
  | "CONFLICT" // refused state transition, concurrent change
  | "LEASE_HELD" // another workflow holds the session's lease
  | "LEASE_LOST" // our lease expired or was taken over
  | "INTEGRITY" // hash mismatch, corrupt or truncated data
  | "UNSAFE_PATH" // a path that would escape the workspace
  | "STORAGE_TRANSIENT"
  | "STORAGE_PERMANENT" // missing bucket, bad credentials, access denied
  | "SANDBOX_GONE" // the provider no longer has the sandbox
  | "SANDBOX_NOT_FOUND"
  | "TIMEOUT"
  | "PROVIDER" // any other provider failure
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "SCHEMA_MISMATCH"
  | "INTERNAL";

const RETRIABLE: ReadonlySet<ErrorCode> = new Set(["STORAGE_TRANSIENT", "TIMEOUT", "LEASE_HELD"]);

export interface ErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  retriable?: boolean;
}

export class TorporError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
    this.retriable = options.retriable ?? RETRIABLE.has(code);
  }

  toJSON(): { name: string; code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

export class ConfigError extends TorporError {
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", message, options);
  }
}

export class ValidationError extends TorporError {
  constructor(message: string, options?: ErrorOptions) {
    super("VALIDATION", message, options);
  }
}

export class NotFoundError extends TorporError {
  constructor(message: string, options?: ErrorOptions) {
    super("NOT_FOUND", message, options);
  }
}

/** A state change refused: invalid transition, lease held or lost, concurrent update. */
export class ConflictError extends TorporError {
  constructor(code: "CONFLICT" | "LEASE_HELD" | "LEASE_LOST", message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** Data that cannot be trusted: hash mismatch, corrupt or truncated object, hostile path. */
export class IntegrityError extends TorporError {
  constructor(code: "INTEGRITY" | "UNSAFE_PATH", message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

export class StorageError extends TorporError {
  constructor(
    code: "STORAGE_TRANSIENT" | "STORAGE_PERMANENT" | "NOT_FOUND",
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

export class SandboxError extends TorporError {
  constructor(
    code: "SANDBOX_GONE" | "SANDBOX_NOT_FOUND" | "TIMEOUT" | "PROVIDER" | "UNSAFE_PATH" | "VALIDATION",
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

export class AuthError extends TorporError {
  constructor(code: "UNAUTHORIZED" | "FORBIDDEN", message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

export function isTorporError(error: unknown, code?: ErrorCode): error is TorporError {
  return error instanceof TorporError && (code === undefined || error.code === code);
}

/** One line for logs and the CLI: the message plus the innermost cause's message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let text = error.message;
  let cause = error.cause;
  while (cause instanceof Error) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
    cause = cause.cause;
  }
  return text;
}

/** For exhaustive switches: a compile error when a case is missing, a typed error at run time. */
export function assertNever(value: never, what = "value"): never {
  throw new TorporError("INTERNAL", `Unexpected ${what}: ${JSON.stringify(value)}`);
}
