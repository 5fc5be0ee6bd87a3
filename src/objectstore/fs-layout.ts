/**
 * Where the filesystem adapter keeps an object: s3rver 3.7's on-disk layout, so that a data dir
 * written by the embedded S3 server (before the filesystem adapter became the default) is read
 * as it is, and `torpor s3-server` can still serve the same folder over HTTP.
 *
 *   <root>/<bucket>/<key, split on "/" into folders>._S3rver_object   the object's bytes
 *   <same>._S3rver_object.md5, <same>._S3rver_metadata.json           s3rver's sidecars (optional)
 *   <root>/.incoming/<random>                                         a PUT being written
 *
 * A key is a "/"-separated path of non-empty segments, none of them "." or ".." (which could name a
 * file outside the bucket's folder) and none containing "._S3rver_" (which could name another
 * key's file): anything else is refused before a file is touched.
 */
import path from "node:path";
import { StorageError } from "../core/errors";

const RESERVED = "._S3rver_";
export const OBJECT_SUFFIX = `${RESERVED}object`;
/** s3rver writes these beside an object; stale ones must go when the object changes. */
export const SIDECAR_SUFFIXES = ["._S3rver_object.md5", "._S3rver_metadata.json"] as const;
/** Folder of PUTs in progress: on the same filesystem as the bucket, so a rename commits one. */
export const INCOMING_DIR = ".incoming";

const MAX_KEY_BYTES = 1024; // S3's limit
const MAX_NAME_BYTES = 255; // ext4, xfs, btrfs, tmpfs
/** Room for the longest sidecar name s3rver may add beside the object. */
const MAX_LAST_SEGMENT_BYTES = MAX_NAME_BYTES - Math.max(...SIDECAR_SUFFIXES.map((s) => s.length));

/** Splits and checks a full key (prefix included). Throws STORAGE_PERMANENT naming the key. */
export function keySegments(key: string): string[] {
  const refuse = (why: string): never => {
    throw new StorageError("STORAGE_PERMANENT", `Invalid object key '${key.slice(0, 200)}': ${why}`, {
      details: { key: key.slice(0, 1024) },
    });
  };
  if (key.length === 0) refuse("empty");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) refuse(`longer than ${MAX_KEY_BYTES} bytes`);
  if (key.includes("\0")) refuse("contains a NUL byte");
  const segments = key.split("/");
  for (const segment of segments) {
    if (segment === "") refuse("empty path segment (leading, trailing or double '/')");
    if (segment === "." || segment === "..") refuse(`'${segment}' segment`);
    if (segment.includes(RESERVED)) refuse(`'${RESERVED}' is reserved for the store's own files`);
  }
  for (const segment of segments.slice(0, -1)) {
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES) refuse("a path segment is too long for a folder name");
  }
  if (Buffer.byteLength(segments.at(-1)!) > MAX_LAST_SEGMENT_BYTES) refuse("last segment too long for a file name");
  return segments;
}

export function objectPath(bucketDir: string, key: string): string {
  const segments = keySegments(key);
  const last = segments.pop()!;
  return path.join(bucketDir, ...segments, last + OBJECT_SUFFIX);
}

/** The key order S3 lists in: bytes of the UTF-8 encoding. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
