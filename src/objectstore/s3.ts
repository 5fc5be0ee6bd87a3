/**
 * The S3 adapter of the ObjectStore port, on @aws-sdk/client-s3, for AWS or any S3-compatible
 * endpoint (s3rver, MinIO, R2). Keys are `prefix + key`.
 *
 * Client settings that S3-compatible servers need: path-style addressing when an endpoint is set,
 * and checksums only when an operation requires them (the SDK's default CRC32 framing of streamed
 * bodies is stored verbatim by some servers). Each request's errors are classified (s3-errors.ts)
 * and transient ones retried here, with backoff; the SDK's own retries are off so that there is
 * one retry policy.
 */
import type { Readable } from "node:stream";
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
import type { ObjectInfo, ObjectStore, PutOptions } from "./index";
import { retryTransient } from "./retry";
import { classifyS3Error } from "./s3-errors";

export interface S3ObjectStoreOptions {
  endpoint?: string;
  bucket: string;
  prefix?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
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
  });

  async function call<T>(what: string, run: () => Promise<T>, replayable = true): Promise<T> {
    const once = async () => {
      try {
        return await run();
      } catch (error) {
        throw classifyS3Error(error, what, where);
      }
    };
    return replayable ? retryTransient(once) : once();
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
