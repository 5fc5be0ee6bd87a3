/**
 * A real S3 server for tests: s3rver on 127.0.0.1, port 0, data in a fresh temp dir, one bucket,
 * and the S3 adapter connected to it. Always `await close()` (in afterAll/afterEach): it stops the
 * server and removes the temp dir.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ObjectStore } from "../../src/objectstore/types";
import { startEmbeddedS3 } from "../../src/objectstore/embedded-server";
import { createS3ObjectStore } from "../../src/objectstore/s3";

export interface TestS3 {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Folder of the server's data (to tamper with stored objects in tests). */
  dir: string;
  objects: ObjectStore;
  close(): Promise<void>;
}

export async function startTestS3(options: { bucket?: string; prefix?: string } = {}): Promise<TestS3> {
  const dir = await mkdtemp(path.join(tmpdir(), "torpor-s3-"));
  const bucket = options.bucket ?? "torpor-test";
  const server = await startEmbeddedS3({ dir, bucket, port: 0 });
  const objects = createS3ObjectStore({
    endpoint: server.endpoint,
    bucket,
    prefix: options.prefix,
    region: "us-east-1",
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  });
  return {
    endpoint: server.endpoint,
    bucket,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    dir,
    objects,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `inner` with every GET's key (ranged or whole, buffer or stream) pushed onto `gets`, in order. */
export function recordingGets(inner: ObjectStore, gets: string[]): ObjectStore {
  return {
    description: inner.description,
    put: inner.put.bind(inner),
    head: inner.head.bind(inner),
    list: inner.list.bind(inner),
    delete: inner.delete.bind(inner),
    check: inner.check.bind(inner),
    getBuffer: (key, range) => (gets.push(key), inner.getBuffer(key, range)),
    getStream: (key, range) => (gets.push(key), inner.getStream(key, range)),
  };
}
