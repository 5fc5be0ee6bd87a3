/**
 * E2B SDK errors → the port's SandboxError codes, so workflows decide without knowing the SDK.
 *
 * - SANDBOX_GONE: the sandbox is not found (killed, expired, or paused longer than E2B keeps it);
 *   E2B cannot tell "never existed" from "gone", so both are gone.
 * - TIMEOUT: the SDK's TimeoutError (request, command or sandbox timeouts), retriable.
 * - PROVIDER: anything else (authentication, rate limits (retriable), a file not found, network).
 */
import {
  AuthenticationError,
  CommandExitError,
  FileNotFoundError,
  NotFoundError,
  RateLimitError,
  SandboxNotFoundError,
  TimeoutError,
} from "e2b";
import { describeError, SandboxError, TorporError } from "../../core/errors";

export function mapE2BError(error: unknown, what: string, sandboxId?: string): TorporError {
  if (error instanceof TorporError) return error;
  const details = sandboxId === undefined ? {} : { sandboxId };
  const output = error instanceof CommandExitError ? ` (exit ${error.exitCode}): ${(error.stderr || error.stdout).slice(-2048)}` : "";
  const message = `E2B: ${what} failed: ${describeError(error)}${output}`;
  if (error instanceof FileNotFoundError) return new SandboxError("PROVIDER", message, { cause: error, details });
  if (error instanceof SandboxNotFoundError || error instanceof NotFoundError || statusOf(error) === 404) {
    return new SandboxError("SANDBOX_GONE", `E2B: sandbox ${sandboxId ?? ""} is gone (${what}): ${describeError(error)}`, {
      cause: error,
      details,
    });
  }
  if (error instanceof TimeoutError) return new SandboxError("TIMEOUT", message, { cause: error, details });
  if (error instanceof RateLimitError) return new SandboxError("PROVIDER", message, { cause: error, details, retriable: true });
  if (error instanceof AuthenticationError) return new SandboxError("PROVIDER", message, { cause: error, details, retriable: false });
  return new SandboxError("PROVIDER", message, { cause: error, details });
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** Runs `fn`, turning any SDK error into a SandboxError. */
export async function guard<T>(what: string, sandboxId: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw mapE2BError(error, what, sandboxId);
  }
}
