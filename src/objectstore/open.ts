/**
 * Opens the configured object store: for "embedded", the filesystem adapter over the data dir's
 * s3 folder (no network listener: see fs.ts); for "s3", the S3 adapter on the configured
 * endpoint. `close()` releases whatever was opened.
 *
 * `serveEmbeddedS3` is the one way to put the embedded store's folder behind HTTP (the CLI's
 * `torpor s3-server`, for tools that only speak S3): s3rver over the same folder, which shares
 * the filesystem adapter's layout. s3rver accepts any request on its port without checking a
 * signature, so every local user can read and change the store while it runs.
 */
import type { Config } from "../core/config";
import { startEmbeddedS3, type EmbeddedS3 } from "./embedded-server";
import { createFsObjectStore, prepareFsObjectStore } from "./fs";
import type { ObjectStore } from "./types";
import { createS3ObjectStore } from "./s3";

export interface OpenedObjectStore {
  objects: ObjectStore;
  /** The S3 endpoint, or `file://<folder>` for the embedded store. */
  endpoint: string;
  close(): Promise<void>;
}

export async function openObjectStore(config: Config["objectStore"]): Promise<OpenedObjectStore> {
  if (config.kind === "embedded") {
    const options = { root: config.embeddedDir, bucket: config.bucket, prefix: config.prefix };
    await prepareFsObjectStore(options);
    return { objects: createFsObjectStore(options), endpoint: `file://${config.embeddedDir}`, close: async () => {} };
  }
  const objects = createS3ObjectStore({
    endpoint: config.endpoint,
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    ...s3Tuning(config),
  });
  return { objects, endpoint: config.endpoint ?? `s3.${config.region}.amazonaws.com`, close: async () => {} };
}

/** s3rver over the embedded store's folder, on S3_ENDPOINT's host and port if set (else loopback, a free port). */
export async function serveEmbeddedS3(config: Config["objectStore"]): Promise<EmbeddedS3> {
  await prepareFsObjectStore({ root: config.embeddedDir, bucket: config.bucket });
  return startEmbeddedS3({
    dir: config.embeddedDir,
    bucket: config.bucket,
    ...(config.endpoint ? endpointHostPort(config.endpoint) : {}),
  });
}

function s3Tuning(config: Config["objectStore"]) {
  return {
    connectionTimeoutMs: config.connectionTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    socketTimeoutMs: config.socketTimeoutMs,
    multipartThresholdBytes: config.multipartThresholdBytes,
    partBytes: config.partBytes,
  };
}

function endpointHostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 80) };
}
