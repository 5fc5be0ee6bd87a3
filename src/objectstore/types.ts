/**
 * The ObjectStore port: a flat key space of immutable objects (an S3 bucket under a prefix).
 *
 * Adapters classify their own errors behind this interface: a missing key is NotFound
 * (StorageError "NOT_FOUND"), a missing bucket / bad credentials / access denied is
 * "STORAGE_PERMANENT", throttling, resets and timeouts are "STORAGE_TRANSIENT" (retriable).
 * Every adapter passes tests/objectstore/contract.ts.
 */
import type { Readable } from "node:stream";

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: number;
}

export interface PutOptions {
  /** Required when the body is a stream (S3 needs the length up front). */
  contentLength?: number;
  contentType?: string;
}

export interface ObjectStore {
  /** A description for messages: "s3://bucket/prefix" and the endpoint. */
  readonly description: string;
  put(key: string, body: Buffer | Uint8Array | string | Readable, options?: PutOptions): Promise<void>;
  /**
   * The whole object (or an inclusive byte range) in memory: for manifests and packs, never for
   * large files. The bytes belong to the caller, who may change them or move their ArrayBuffer to
   * another thread (restore does): an adapter must never hand out a buffer it keeps.
   */
  getBuffer(key: string, range?: { start: number; end: number }): Promise<Buffer>;
  /** A stream of the object or of an inclusive byte range of it. */
  getStream(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** null when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every key under a prefix, paging through the whole listing. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deleting a missing key is not an error. */
  delete(keys: string[]): Promise<void>;
  /** Checks that the bucket is reachable with these credentials; throws STORAGE_PERMANENT if not. */
  check(): Promise<void>;
}
