/**
 * The S3 adapter of the ObjectStore port, on @aws-sdk/client-s3, for AWS or any S3-compatible
 * endpoint (s3rver, MinIO, R2). Keys are `prefix + key`.
 *
 * Client settings that S3-compatible servers need: path-style addressing when an endpoint is set,
 * and checksums only when an operation requires them (the SDK's default CRC32 framing of streamed
 * bodies is stored verbatim by some servers). Each request's errors are classified (s3-errors.ts)
 * and transient ones retried here, with backoff.
 *
 * The SDK's own retries stay off (maxAttempts 1), a decision: its standard strategy cannot replay
 * a streamed body either, and retrying here gives one policy, driven by our classification, for
 * every adapter and for the multipart parts (each part a buffer, retried on its own).
 *
 * Every request has a deadline: connecting, an idle socket, and the whole request (the SDK's
 * defaults are none: a half-open connection hung a step until its lease expired). Bodies over
 * the multipart threshold go up in parts (s3-multipart.ts). DeleteObjects carries Content-MD5:
 * with WHEN_REQUIRED the SDK sends only a CRC32 checksum, which S3-compatibles that predate
 * flexible checksums refuse (and gc then never deletes).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { StorageError } from "../core/errors";
import type { ObjectInfo, ObjectStore, PutOptions } from "./types";
import { DEFAULT_RETRY, retryTransient, type RetryPolicy } from "./retry";
import { classifyS3Error } from "./s3-errors";
import { multipartPut } from "./s3-multipart";

export interface S3ObjectStoreOptions {
  endpoint?: string;
  bucket: string;
  prefix?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Time to establish a connection (default 5 s). */
  connectionTimeoutMs?: number;
  /** Time a socket may stay silent mid-request (default 30 s). */
  socketTimeoutMs?: number;
  /** Time for a whole request and its response (default 5 min; a part or a PUT below the threshold). */
  requestTimeoutMs?: number;
  /** Bodies larger than this are sent as a multipart upload (default 64 MiB). */
  multipartThresholdBytes?: number;
  /** Size of a multipart upload's parts (default 16 MiB; S3 needs at least 5 MiB). */
  partBytes?: number;
  /** Retries of transient failures (tests shorten it). */
  retry?: RetryPolicy;
}

const MIB = 1024 * 1024;
export const S3_DEFAULTS = {
  connectionTimeoutMs: 5_000,
  socketTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  multipartThresholdBytes: 64 * MIB,
  partBytes: 16 * MIB,
} as const;

/** Adds Content-MD5 to DeleteObjects (see the header). */
function addDeleteContentMd5(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === "DeleteObjectsCommand" && request.headers && !hasHeader(request.headers, "content-md5")) {
        const body = request.body;
        if (typeof body === "string" || body instanceof Uint8Array) {
          request.headers["content-md5"] = createHash("md5").update(body).digest("base64");
        }
      }
      return next(args);
    },
    { step: "build", name: "torporDeleteContentMd5", tags: ["CONTENT_MD5"] },
  );
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

function rangeHeader(range?: { start: number; end: number }): string | undefined {
  return range ? `bytes=${range.start}-${range.end}` : undefined;
}

export function createS3ObjectStore(options: S3ObjectStoreOptions): ObjectStore {
  const prefix = options.prefix ?? "";
  const where = { bucket: options.bucket, endpoint: options.endpoint ?? `s3.${options.region}.amazonaws.com` };
  const Bucket = options.bucket;
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? S3_DEFAULTS.connectionTimeoutMs,
      socketTimeout: options.socketTimeoutMs ?? S3_DEFAULTS.socketTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? S3_DEFAULTS.requestTimeoutMs,
      // Without it a request past requestTimeout only logs a warning.
      throwOnRequestTimeout: true,
    },
  });
  addDeleteContentMd5(client);
  const retry = options.retry ?? DEFAULT_RETRY;
  const threshold = options.multipartThresholdBytes ?? S3_DEFAULTS.multipartThresholdBytes;
  const partBytes = options.partBytes ?? S3_DEFAULTS.partBytes;

  async function call<T>(what: string, run: () => Promise<T>, replayable = true): Promise<T> {
    const once = async () => {
      try {
        return await run();
      } catch (error) {
        throw classifyS3Error(error, what, where);
      }
    };
    return replayable ? retryTransient(once, retry) : once();
  }

  // `retrying`: this adapter already retries transient failures, so withRetries() leaves it as is.
  const store: ObjectStore & { retrying: true } = {
    retrying: true,
    description: `s3://${options.bucket}/${prefix} at ${where.endpoint}`,

    async put(key: string, body: Buffer | Uint8Array | string | Readable, putOptions?: PutOptions) {
      const streamed = typeof body === "object" && "pipe" in body;
      if (streamed && putOptions?.contentLength === undefined) {
        throw new StorageError("STORAGE_PERMANENT", `PUT ${key}: a stream body needs contentLength`);
      }
      const length = streamed ? putOptions!.contentLength! : typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
      if (length > threshold) {
        const source = streamed ? body : Readable.from([typeof body === "string" ? Buffer.from(body) : body]);
        const target = {
          client,
          bucket: Bucket,
          key: prefix + key,
          label: key,
          contentType: putOptions?.contentType ?? "application/octet-stream",
          call,
          storedSize: async () => (await store.head(key))?.size ?? null,
        };
        return multipartPut(target, source, length, partBytes);
      }
      await call(
        `PUT ${key}`,
        () =>
          client.send(
            new PutObjectCommand({
              Bucket,
              Key: prefix + key,
              Body: body,
              ContentLength: putOptions?.contentLength,
              ContentType: putOptions?.contentType ?? "application/octet-stream",
            }),
          ),
        !streamed,
      );
    },

    async getBuffer(key, range) {
      return call(`GET ${key}`, async () => {
        const response = await client.send(new GetObjectCommand({ Bucket, Key: prefix + key, Range: rangeHeader(range) }));
        if (!response.Body) throw new StorageError("STORAGE_TRANSIENT", `GET ${key}: empty response body`);
        const bytes = await response.Body.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a view, not a copy
      });
    },

    async getStream(key, range) {
      return call(`GET ${key}`, async () => {
        const response = await client.send(new GetObjectCommand({ Bucket, Key: prefix + key, Range: rangeHeader(range) }));
        if (!response.Body) throw new StorageError("STORAGE_TRANSIENT", `GET ${key}: empty response body`);
        return response.Body as Readable;
      });
    },

    async head(key) {
      try {
        const response = await call(`HEAD ${key}`, () => client.send(new HeadObjectCommand({ Bucket, Key: prefix + key })));
        return { key, size: response.ContentLength ?? 0, lastModified: response.LastModified?.getTime() ?? 0 };
      } catch (error) {
        if (error instanceof StorageError && error.code === "NOT_FOUND") return null;
        throw error;
      }
    },

    async *list(listPrefix: string): AsyncIterable<ObjectInfo> {
      let token: string | undefined;
      do {
        const page = await call(`LIST ${listPrefix}`, () =>
          client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix + listPrefix, ContinuationToken: token })),
        );
        for (const item of page.Contents ?? []) {
          if (!item.Key) continue;
          yield { key: item.Key.slice(prefix.length), size: item.Size ?? 0, lastModified: item.LastModified?.getTime() ?? 0 };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async delete(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        const result = await call(`DELETE ${batch.length} objects`, () =>
          client.send(
            new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch.map((k) => ({ Key: prefix + k })), Quiet: true } }),
          ),
        );
        const failed = (result.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
        if (failed.length > 0) {
          throw new StorageError("STORAGE_TRANSIENT", `DELETE failed for ${failed.length} objects: ${failed[0]?.Code}`, {
            details: { keys: failed.map((e) => e.Key) },
          });
        }
      }
    },

    async check() {
      try {
        await call(`HEAD bucket ${Bucket}`, () => client.send(new HeadBucketCommand({ Bucket })));
      } catch (error) {
        // HeadBucket has no body, so a missing bucket arrives as a bare 404.
        if (error instanceof StorageError && error.code === "NOT_FOUND") {
          throw new StorageError("STORAGE_PERMANENT", `Bucket '${Bucket}' does not exist at ${where.endpoint}`, {
            cause: error,
            details: { bucket: Bucket, endpoint: where.endpoint },
          });
        }
        throw error;
      }
    },
  };
  return store;
}
