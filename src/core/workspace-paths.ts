/**
 * The one rule for a workspace path, used by the checkpoint format (manifests, scans), the
 * sandbox providers and the API's inputs, so that a path one layer accepts is never refused by
 * another later (`files.write("C:/notes/x.txt")` was accepted by the API and then failed every
 * hibernate, because only the checkpoint refused drive letters).
 *
 * A workspace path is relative, "/"-separated, with no empty, "." or ".." segment, no NUL, no
 * Windows drive prefix ("C:/", "C:\"), each segment at most 255 bytes (the Linux NAME_MAX: a longer
 * one failed deep in the host as ENAMETOOLONG) and the whole at most 4,096 bytes (PATH_MAX).
 */
export const MAX_SEGMENT_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

/** The reason a path is unsafe, or null when it is a clean workspace path. */
export function unsafePathReason(path: string): string | null {
  if (typeof path !== "string" || path.length === 0) return "empty path";
  if (path.includes("\0")) return "NUL in path";
  if (path.startsWith("/")) return "absolute path";
  if (/^[A-Za-z]:[\\/]/.test(path)) return "absolute path (a drive letter)";
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `longer than ${MAX_PATH_BYTES} bytes`;
  for (const segment of path.split("/")) {
    if (segment === "..") return "'..' segment";
    if (segment === "" || segment === ".") return "empty or '.' segment";
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `a name longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return null;
}
