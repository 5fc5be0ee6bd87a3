/**
 * Opens the configured object store: for "embedded", starts the embedded S3 server (s3rver) on
 * loopback over the data dir's s3 folder and connects the S3 adapter to it; for "s3", the adapter
 * on the configured endpoint. `close()` stops whatever was started.
 */
import type { Config } from "../core/config";
import { startEmbeddedS3 } from "./embedded-server";
import type { ObjectStore } from "./index";
import { createS3ObjectStore } from "./s3";

export interface OpenedObjectStore {
  objects: ObjectStore;
  endpoint: string;
  close(): Promise<void>;
}

export async function openObjectStore(config: Config["objectStore"]): Promise<OpenedObjectStore> {
  if (config.kind === "embedded") {
    const server = await startEmbeddedS3({
      dir: config.embeddedDir,
      bucket: config.bucket,
      ...(config.endpoint ? endpointHostPort(config.endpoint) : {}),
    });
    const objects = createS3ObjectStore({
      endpoint: server.endpoint,
      bucket: config.bucket,
      prefix: config.prefix,
      region: config.region,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
    });
    return { objects, endpoint: server.endpoint, close: () => server.close() };
  }
  const objects = createS3ObjectStore({
    endpoint: config.endpoint,
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
  });
  return { objects, endpoint: config.endpoint ?? `s3.${config.region}.amazonaws.com`, close: async () => {} };
}

/** With an S3_ENDPOINT set in embedded mode, the embedded server listens there. */
function endpointHostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 80) };
}
