/**
 * The checkpoint tests' shared set-up: a real S3 server (s3rver) and an engine with small
 * thresholds, so that frames and packs roll over and the large-file path runs on small data, plus
 * temp folders removed after the file's tests.
 */
import { afterAll, beforeAll } from "vitest";
import { createCheckpointEngine, type CheckpointEngine } from "../../src/checkpoint/index";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { tempDirs } from "./tree";

export interface CheckpointFixture {
  readonly s3: TestS3;
  readonly engine: CheckpointEngine;
  dir(label: string): Promise<string>;
}

export function checkpointFixture(): CheckpointFixture {
  const temp = tempDirs();
  let s3: TestS3 | undefined;
  let engine: CheckpointEngine | undefined;
  beforeAll(async () => {
    s3 = await startTestS3();
    engine = createCheckpointEngine({ objects: s3.objects, smallFileBytes: 4096, packTargetBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await s3?.close();
    await temp.removeAll();
  });
  return {
    get s3() {
      return s3!;
    },
    get engine() {
      return engine!;
    },
    dir: (label) => temp.make(label),
  };
}
