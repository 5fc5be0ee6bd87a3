/**
 * Classifies what the S3 SDK throws into StorageError codes, so that callers decide on codes:
 * - NOT_FOUND: the key does not exist (404, NoSuchKey).
 * - STORAGE_PERMANENT: the bucket does not exist, the credentials are wrong, access is denied, or
 *   the request is malformed. Trying again will not help.
 * - STORAGE_TRANSIENT: throttling, 5xx, resets, timeouts, a refused connection. Retriable.
 */
import { StorageError } from "../core/errors";

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const PERMANENT_NAMES = new Set([
  "NoSuchBucket",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "Forbidden",
  "InvalidBucketName",
  "AllAccessDisabled",
  "AccountProblem",
  "InvalidArgument",
  "InvalidRequest",
  "InvalidRange",
  "MethodNotAllowed",
  "EntityTooLarge",
  "CredentialsProviderError",
  "InvalidToken",
  "ExpiredToken",
]);

const TRANSIENT_NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  // The request handler's connect, idle-socket and request deadlines (s3.ts).
  "TimeoutError",
]);

/** Turns an SDK error for `what` (e.g. "GET packs/ab…") into a StorageError with a clear message. */
export function classifyS3Error(error: unknown, what: string, where: { bucket: string; endpoint: string }): StorageError {
  if (error instanceof StorageError) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const name = e.name ?? e.Code ?? "";
  const code = e.code ?? "";
  const status = e.$metadata?.httpStatusCode;
  const details = { operation: what, bucket: where.bucket, endpoint: where.endpoint, status, sdkName: name };

  if (name === "NoSuchBucket") {
    return new StorageError("STORAGE_PERMANENT", `Bucket '${where.bucket}' does not exist at ${where.endpoint}`, {
      cause: error,
      details,
    });
  }
  if (name === "NoSuchKey" || name === "NotFound" || name === "NoSuchUpload" || status === 404) {
    return new StorageError("NOT_FOUND", `Not found: ${what}`, { cause: error, details });
  }
  if (name === "InvalidAccessKeyId" || name === "SignatureDoesNotMatch" || name === "CredentialsProviderError") {
    return new StorageError(
      "STORAGE_PERMANENT",
      `S3 refused the credentials for bucket '${where.bucket}' at ${where.endpoint} (${name})`,
      { cause: error, details },
    );
  }
  if (name === "AccessDenied" || name === "Forbidden" || status === 403) {
    // A HEAD has no error body, so bad credentials and missing permissions look alike here.
    const hint = "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and the bucket's permissions";
    return new StorageError("STORAGE_PERMANENT", `Access denied to bucket '${where.bucket}' at ${where.endpoint} during ${what}: ${hint}`, {
      cause: error,
      details,
    });
  }
  if (PERMANENT_NAMES.has(name)) {
    return new StorageError("STORAGE_PERMANENT", `S3 refused ${what}: ${name}`, { cause: error, details });
  }
  if (TRANSIENT_NETWORK.has(code) || TRANSIENT_NETWORK.has(name)) {
    return new StorageError("STORAGE_TRANSIENT", `Cannot reach S3 at ${where.endpoint} (${code || name}) during ${what}`, {
      cause: error,
      details,
    });
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new StorageError("STORAGE_PERMANENT", `S3 refused ${what}: ${name || status}`, { cause: error, details });
  }
  // 5xx, 408, 429, throttling, timeouts, aborted sockets and anything unknown: worth another try.
  return new StorageError("STORAGE_TRANSIENT", `S3 failed during ${what}: ${name || code || e.message || "unknown error"}`, {
    cause: error,
    details,
  });
}
