/** The object store port (types.ts) and its adapters: S3, the filesystem store, the embedded S3 server. */
export type { ObjectInfo, ObjectStore, PutOptions } from "./types";
export { createS3ObjectStore, type S3ObjectStoreOptions } from "./s3";
export { startEmbeddedS3, EMBEDDED_S3_CREDENTIALS, type EmbeddedS3, type EmbeddedS3Options } from "./embedded-server";
export { createFsObjectStore, prepareFsObjectStore, type FsObjectStoreOptions } from "./fs";
export { openObjectStore, serveEmbeddedS3, type OpenedObjectStore } from "./open";
export { withRetries, retryTransient, DEFAULT_RETRY, type RetryPolicy } from "./retry";
