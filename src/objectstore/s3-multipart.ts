/**
 * Large bodies as an S3 multipart upload: one PUT is limited to 5 GB, and a failure near its end
 * resent everything (a streamed body cannot be replayed, so the caller retried the whole object).
 * Here the body is read one part at a time into a buffer that belongs to that part, so each part
 * is retried on its own with the adapter's policy; at most one part per upload is in memory.
 *
 * Parts are `partBytes` long (S3: 5 MiB to 5 GiB, except the last), grown when the object would
 * need more than S3's 10,000 parts. A failed upload is aborted (best effort: a bucket lifecycle
 * rule for incomplete uploads is the backstop) so its parts are not billed forever.
 */
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { StorageError } from "../core/errors";

const MAX_PARTS = 10_000;
const MIB = 1024 * 1024;

export interface MultipartTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** The key as callers name it (without the prefix), for messages. */
  label: string;
  contentType: string;
  /** Runs one request, classified and (when `replayable`) retried on transient failures. */
  call<T>(what: string, run: () => Promise<T>, replayable?: boolean): Promise<T>;
  /** The object's size once stored, or null: used when Complete's answer was lost. */
  storedSize(): Promise<number | null>;
}

export function partSizeFor(length: number, partBytes: number): number {
  if (length <= partBytes * MAX_PARTS) return partBytes;
  return Math.ceil(length / MAX_PARTS / MIB) * MIB;
}

/** Cuts a stream into buffers of exactly `size` bytes (the last one shorter), each a fresh copy. */
export async function* readParts(body: Readable, size: number): AsyncGenerator<Buffer> {
  let part = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(size - filled, chunk.length - at);
      chunk.copy(part, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === size) {
        yield part;
        part = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}

export async function multipartPut(target: MultipartTarget, body: Readable, length: number, partBytes: number): Promise<void> {
  const { client, bucket: Bucket, key: Key, label } = target;
  const created = await target.call(`PUT ${label} (start a multipart upload)`, () =>
    client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: target.contentType })),
  );
  const UploadId = created.UploadId;
  if (!UploadId) throw new StorageError("STORAGE_TRANSIENT", `PUT ${label}: S3 returned no upload id`);
  const parts: { PartNumber: number; ETag: string }[] = [];
  let sent = 0;
  try {
    for await (const part of readParts(body, partSizeFor(length, partBytes))) {
      const PartNumber = parts.length + 1;
      const uploaded = await target.call(`PUT ${label} part ${PartNumber}`, () =>
        client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: part, ContentLength: part.length })),
      );
      if (!uploaded.ETag) throw new StorageError("STORAGE_TRANSIENT", `PUT ${label} part ${PartNumber}: S3 returned no ETag`);
      parts.push({ PartNumber, ETag: uploaded.ETag });
      sent += part.length;
    }
    if (sent !== length) {
      throw new StorageError("STORAGE_PERMANENT", `PUT ${label}: the body had ${sent} bytes, not the ${length} announced`);
    }
    try {
      await target.call(`PUT ${label} (complete the multipart upload)`, () =>
        client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } })),
      );
    } catch (error) {
      // A retried Complete whose first answer was lost finds no upload: the object is there.
      if (error instanceof StorageError && error.code === "NOT_FOUND" && (await target.storedSize()) === length) return;
      throw error;
    }
  } catch (error) {
    await target
      .call(`PUT ${label} (abort the multipart upload)`, () => client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })), false)
      .catch(() => {});
    throw error;
  }
}
