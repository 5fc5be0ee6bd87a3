/**
 * Classifies what Node's fs throws into the same StorageError codes as the S3 adapter
 * (s3-errors.ts), so callers cannot tell the adapters apart by their failures:
 * - NOT_FOUND: the key's file (or a folder on its path) does not exist.
 * - STORAGE_PERMANENT: access refused, read-only or full disk, a name the filesystem refuses.
 *   Retrying soon will not help; the message says what to fix.
 * - STORAGE_TRANSIENT: out of descriptors, busy, interrupted, an I/O error, anything unknown.
 *
 * Messages name the operation and the store ("the embedded object store"), never the host path:
 * errors travel to API callers (issue 14: host paths in messages told a tenant where the data
 * dir was). The path is in `details` for the operator's log.
 */
import { StorageError } from "../core/errors";

const NOT_FOUND = new Set(["ENOENT", "ENOTDIR"]);
const PERMANENT: Record<string, string> = {
  EACCES: "permission denied: the data dir's s3 folder must belong to the user running Torpor",
  EPERM: "operation not permitted: the data dir's s3 folder must belong to the user running Torpor",
  EROFS: "the filesystem is read-only",
  ENOSPC: "no space left on the disk that holds the data dir",
  EDQUOT: "disk quota exceeded on the disk that holds the data dir",
  ENAMETOOLONG: "a file name is too long for the filesystem",
  EISDIR: "a folder stands where the object's file should be",
  EEXIST: "a file stands where a folder of the key should be",
  EINVAL: "the filesystem refused the request",
  ELOOP: "a symbolic link stands in the store's folders",
};

export function classifyFsError(error: unknown, what: string, root: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  const details = { operation: what, root, errno: code };
  if (NOT_FOUND.has(code)) return new StorageError("NOT_FOUND", `Not found: ${what}`, { cause: error, details });
  const why = PERMANENT[code];
  if (why) {
    return new StorageError("STORAGE_PERMANENT", `The embedded object store refused ${what}: ${why} (${code})`, {
      cause: error,
      details,
    });
  }
  return new StorageError("STORAGE_TRANSIENT", `The embedded object store failed during ${what} (${code || "unknown error"})`, {
    cause: error,
    details,
  });
}
