/// <reference path="./s3rver.d.ts" />
/**
 * The embedded object store: s3rver, a real S3-compatible HTTP server, on loopback with its data
 * on disk. It accepts only the credentials S3RVER/S3RVER, which it hands back to the caller.
 *
 * s3rver encrypts listing continuation tokens with DES, so paged listings (over 1,000 keys) need
 * the process to run with --openssl-legacy-provider (bin/torpor and scripts/test.mjs set it).
 */
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { StorageError } from "../core/errors";
import { makePutsAtomic } from "./atomic-puts";

export interface EmbeddedS3Options {
  /** Folder that holds the buckets' data. */
  dir: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  bucket: string;
  /** PEM key and certificate: serve HTTPS instead of HTTP (restic needs HTTPS). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface EmbeddedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** Starts s3rver on `host:port` (loopback, free port by default) and creates the bucket. */
export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  const host = options.host ?? "127.0.0.1";
  await mkdir(options.dir, { recursive: true });
  // Loaded on demand: s3rver and its web framework cost start-up time a remote-S3 CLI run does not need.
  const { default: S3rver } = await import("s3rver");
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    silent: true,
    directory: options.dir,
    configureBuckets: [{ name: options.bucket }],
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
  });
  // A crash mid-PUT must not leave a truncated or unreadable object (see ./atomic-puts).
  makePutsAtomic(server);
  let address: { port: number };
  try {
    address = await server.run();
  } catch (error) {
    throw new StorageError("STORAGE_PERMANENT", `Cannot start the embedded S3 server on ${host}:${options.port ?? 0}`, {
      cause: error,
    });
  }
  const scheme = options.tls ? "https" : "http";
  const hostPart = host.includes(":") ? `[${host}]` : host;
  let closed = false;
  return {
    endpoint: `${scheme}://${hostPart}:${address.port}`,
    ...EMBEDDED_S3_CREDENTIALS,
    async close() {
      if (closed) return;
      closed = true;
      // Keep-alive sockets from SDK clients would hold close() open forever.
      const http: Server | undefined = server.httpServer;
      const closing = server.close();
      http?.closeAllConnections();
      await closing;
    },
  };
}
