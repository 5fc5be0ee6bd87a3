/**
 * Verifying a checkpoint without restoring it: every blob the manifest names is downloaded and
 * checked against its hash and size. Problems are collected, not thrown, so that one report lists
 * every damaged file; only an unreadable manifest throws.
 */
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ObjectStore } from "../../objectstore/types";
import { describeError } from "../../core/errors";
import { Gate } from "../channel";
import { EMPTY_HASH, type Manifest } from "../repo/format";
import { openLargeBlob, planReads, readRange } from "../repo/blob-reader";
import type { RestoreProgress, VerifyResult } from "../types";

export async function verifyCheckpoint(
  checkpointId: string,
  s: { objects: ObjectStore; concurrency: number; readManifest(id: string): Promise<Manifest> },
  onProgress?: (p: RestoreProgress) => void,
): Promise<VerifyResult> {
  const started = performance.now();
  const manifest = await s.readManifest(checkpointId);
  const files = manifest.entries.filter((e) => e.type === "file");
  const pathsByHash = new Map<string, string[]>();
  for (const f of files) pathsByHash.set(f.hash!, [...(pathsByHash.get(f.hash!) ?? []), f.path]);
  const progress: RestoreProgress = {
    phase: "verify",
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((n, f) => n + f.size, 0),
  };
  const problems: VerifyResult["problems"] = [];
  const done = (hash: string, size: number) => {
    const n = pathsByHash.get(hash)?.length ?? 0;
    progress.filesDone += n;
    progress.bytesDone += size * n;
    onProgress?.({ ...progress });
  };
  const fail = (hash: string, error: unknown) => {
    for (const path of pathsByHash.get(hash) ?? []) problems.push({ path, problem: describeError(error) });
  };
  done(EMPTY_HASH, 0);

  let plan;
  try {
    plan = planReads([...pathsByHash.keys()].filter((h) => h !== EMPTY_HASH), manifest.locations, checkpointId);
  } catch (error) {
    return { checkpoint: checkpointId, ok: false, files: files.length, bytes: progress.bytesTotal, problems: [{ path: "", problem: describeError(error) }], seconds: 0 };
  }
  const gate = new Gate(s.concurrency);
  await Promise.all([
    ...plan.large.map((blob) =>
      gate.run(async () => {
        try {
          const sink = new Writable({ write: (_chunk, _enc, callback) => callback() });
          await pipeline(await openLargeBlob(s.objects, blob), sink);
          done(blob.hash, blob.size);
        } catch (error) {
          fail(blob.hash, error);
        }
      }),
    ),
    ...plan.ranges.map((range) =>
      gate.run(async () => {
        try {
          for await (const { hash, data } of readRange(s.objects, range)) done(hash, data.length);
        } catch (error) {
          // One bad frame fails its range: check frame by frame, blob by blob, to name the bad ones.
          for (const frame of range.frames) {
            for (const blob of frame.blobs) {
              try {
                const single = { ...range, start: frame.offset, end: frame.offset + frame.length - 1, frames: [{ ...frame, blobs: [blob] }] };
                for await (const _ of readRange(s.objects, single));
                done(blob.hash, blob.size);
              } catch (inner) {
                fail(blob.hash, inner ?? error);
              }
            }
          }
        }
      }),
    ),
  ]);
  problems.sort((a, b) => (a.path < b.path ? -1 : 1));
  return {
    checkpoint: checkpointId,
    ok: problems.length === 0,
    files: files.length,
    bytes: progress.bytesTotal,
    problems,
    seconds: (performance.now() - started) / 1000,
  };
}
