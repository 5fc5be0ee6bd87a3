/**
 * The S3 adapter against s3rver: the ObjectStore contract (with and without a key prefix), and
 * the classification of a missing bucket, wrong credentials and an unreachable endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTorporError, TorporError } from "../../src/core/errors";
import { createS3ObjectStore } from "../../src/objectstore/s3";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { objectStoreContract } from "./contract";

objectStoreContract("s3 adapter on s3rver", async () => {
  const s3 = await startTestS3();
  return { objects: s3.objects, teardown: () => s3.close() };
});

objectStoreContract("s3 adapter on s3rver, with a prefix", async () => {
  const s3 = await startTestS3({ prefix: "team-a/" });
  return { objects: s3.objects, teardown: () => s3.close() };
});

describe("s3 adapter errors", () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startTestS3();
  });
  afterAll(async () => {
    await s3.close();
  });

  const options = () => ({ endpoint: s3.endpoint, region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });

  it("a missing bucket is STORAGE_PERMANENT with a message naming it", async () => {
    const objects = createS3ObjectStore({ ...options(), bucket: "no-such-bucket" });
    const error = await objects.check().catch((e: unknown) => e);
    expect(isTorporError(error, "STORAGE_PERMANENT")).toBe(true);
    expect((error as TorporError).message).toContain("Bucket 'no-such-bucket' does not exist");
    const putError = await objects.put("k", "v").catch((e: unknown) => e);
    expect(isTorporError(putError, "STORAGE_PERMANENT")).toBe(true);
  });

  it("wrong credentials are STORAGE_PERMANENT and not retriable", async () => {
    const objects = createS3ObjectStore({ ...options(), bucket: s3.bucket, accessKeyId: "WRONG", secretAccessKey: "WRONG" });
    const error = await objects.getBuffer("anything").catch((e: unknown) => e);
    expect(isTorporError(error, "STORAGE_PERMANENT")).toBe(true);
    expect((error as TorporError).retriable).toBe(false);
    expect((error as TorporError).message).toContain("credentials");
  });

  it("an endpoint nobody listens on is STORAGE_TRANSIENT", async () => {
    const objects = createS3ObjectStore({ ...options(), endpoint: "http://127.0.0.1:1", bucket: s3.bucket });
    const error = await objects.head("k").catch((e: unknown) => e);
    expect(isTorporError(error, "STORAGE_TRANSIENT")).toBe(true);
    expect((error as TorporError).message).toContain("http://127.0.0.1:1");
  });
});
