/**
 * Progress of long steps on the run's row, end to end on the embedded engine with real components
 * (SQLite file, embedded S3, local sandboxes): a snapshot and a restore of a few thousand files
 * write their progress (read back from the store after every write), counting up to the total,
 * one write at a time, and clear it when the step ends; a store that refuses progress writes does
 * not fail the run. The throttle itself is checked on progressWriter with fake timers.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TorporError } from "../../src/core/errors";
import type { RunProgress } from "../../src/core/types";
import type { StateStore } from "../../src/store/types";
import { progressWriter } from "../../src/workflows/progress";
import type { TorporEvent } from "../../src/workflows/types";
import { createSessionWithFiles, requestId, sampleFiles, startWorkflowRuntime, runWorkflow, type WorkflowRuntime } from "../helpers/runtime";

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await rt?.close();
  rt = undefined;
});

/** Each progress write, with the row's progress read back right after it, and the most writes at once. */
function recordingStore(base: StateStore, seen: { runId: string; wrote: RunProgress | null; row: RunProgress | null }[], overlap: { now: number; max: number }): StateStore {
  return Object.assign(Object.create(base) as StateStore, {
    async setRunProgress(runId: string, progress: RunProgress | null) {
      overlap.max = Math.max(overlap.max, ++overlap.now);
      try {
        await base.setRunProgress(runId, progress);
        seen.push({ runId, wrote: progress, row: (await base.getRun(runId))?.progress ?? null });
      } finally {
        overlap.now--;
      }
    },
  });
}

const run = (event: TorporEvent) => runWorkflow(rt!, event);

/**
 * A session whose workspace holds `count` small files, written straight into the local sandbox's
 * folder. None is empty or large: the checkpoint engine does not count those in filesDone (yet).
 */
async function sessionWithManyFiles(count: number) {
  const session = await createSessionWithFiles(rt!.runtime, { "README.md": "# many files\n" });
  const sandbox = rt!.config.sandbox;
  if (sandbox.kind !== "local") throw new Error("this test needs the local sandbox provider");
  for (let i = 0; i < count; i++) {
    const dir = path.join(sandbox.root, session.sandboxId!, "workspace", "many", `d${i % 50}`);
    if (i < 50) mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `f${i}.txt`), `file ${i}\n`);
  }
  return session;
}

describe("run progress", () => {
  it("shows a snapshot and a restore of thousands of files counting up, then clears it", async () => {
    const seen: { runId: string; wrote: RunProgress | null; row: RunProgress | null }[] = [];
    const overlap = { now: 0, max: 0 };
    // Interval 0: every value the engine reports may be written (still one write at a time).
    rt = await startWorkflowRuntime({ env: { TORPOR_PROGRESS_INTERVAL_MS: "0" }, wrapStore: (s) => recordingStore(s, seen, overlap) });
    const session = await sessionWithManyFiles(2000);

    const snap = await run({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
    expect(snap.status).toBe("completed");
    const writes = seen.filter((w) => w.runId === snap.id);
    const values = writes.map((w) => w.wrote).filter((p): p is RunProgress => p !== null);
    // Every write landed on the run's row as written.
    for (const w of writes) expect(w.row).toEqual(w.wrote);
    expect(values.map((p) => p.phase)).toContain("scan");
    expect(values.every((p) => p.step === "Flush pending changes and take a checkpoint")).toBe(true);
    const done = values.map((p) => p.filesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    const last = values.at(-1)!;
    const checkpoint = await rt.runtime.store.getCheckpoint(JSON.parse(snap.result!).checkpointId);
    expect(last.filesTotal).toBeGreaterThanOrEqual(2000);
    expect(last).toMatchObject({ filesDone: last.filesTotal, bytesDone: last.bytesTotal });
    expect(checkpoint?.files).toBeGreaterThanOrEqual(last.filesTotal);
    expect(values.some((p) => p.filesDone > 0 && p.filesDone < p.filesTotal)).toBe(true);
    expect(writes.at(-1)?.wrote).toBeNull();
    expect((await rt.runtime.store.getRun(snap.id))?.progress).toBeNull();
    expect(overlap.max).toBe(1);

    const restore = await run({
      name: "torpor/session.restore.requested",
      data: { sessionId: session.id, checkpointId: checkpoint!.id, requestId: requestId() },
    });
    expect(restore.status).toBe("completed");
    const restoreWrites = seen.filter((w) => w.runId === restore.id);
    const steps = new Set(restoreWrites.flatMap((w) => (w.wrote ? [w.wrote.step] : [])));
    expect(steps).toEqual(new Set(["Take a safety checkpoint of the current files", "Restore the checkpoint into the new sandbox"]));
    const restored = restoreWrites.flatMap((w) => (w.wrote?.step === "Restore the checkpoint into the new sandbox" ? [w.wrote] : []));
    expect(restored.at(-1)?.filesTotal).toBeGreaterThanOrEqual(2000);
    expect(restoreWrites.at(-1)?.wrote).toBeNull();
    expect((await rt.runtime.store.getRun(restore.id))?.progress).toBeNull();
  });

  it("logs a failed progress write and finishes the step anyway", async () => {
    const logged: string[] = [];
    rt = await startWorkflowRuntime({
      log: (message) => logged.push(message),
      wrapStore: (base) =>
        Object.assign(Object.create(base) as StateStore, {
          setRunProgress: () => Promise.reject(new TorporError("STORAGE_TRANSIENT", "the store is down")),
        }),
    });
    const session = await createSessionWithFiles(rt.runtime, sampleFiles("fails"));
    const snap = await run({ name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } });
    expect(snap.status).toBe("completed");
    expect(logged.find((m) => m.includes("could not record the progress"))).toMatch(
      new RegExp(`run ${snap.id}: could not record the progress of 'Flush pending changes and take a checkpoint'.*the store is down`),
    );
  });
});

describe("progressWriter", () => {
  const value = (filesDone: number) => ({ phase: "upload", filesDone, filesTotal: 100, bytesDone: filesDone, bytesTotal: 100 });

  it("writes at most once per interval, one write at a time, then the final value and null", async () => {
    vi.useFakeTimers();
    const wrote: (number | null)[] = [];
    let release: (() => void) | undefined;
    let inFlight = 0;
    let maxInFlight = 0;
    const store = {
      setRunProgress: (_runId: string, p: RunProgress | null) => {
        wrote.push(p?.filesDone ?? null);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        return new Promise<void>((resolve) => (release = () => (inFlight--, resolve())));
      },
    } as unknown as StateStore;
    const writer = progressWriter({ store, now: () => 7 }, "run_x", "Take a checkpoint", 500);

    writer.report(value(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(wrote).toEqual([1]); // the first value goes out at once
    for (let i = 2; i <= 40; i++) writer.report(value(i));
    await vi.advanceTimersByTimeAsync(2000);
    expect(wrote).toEqual([1]); // the first write has not returned: nothing else starts
    release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(wrote).toEqual([1, 40]); // the interval has passed: only the latest value is written
    release!();
    writer.report(value(50));
    await vi.advanceTimersByTimeAsync(100);
    expect(wrote).toEqual([1, 40]); // within the interval: held back
    writer.report(value(60));
    const closing = writer.close();
    await vi.advanceTimersByTimeAsync(0);
    release!();
    await vi.advanceTimersByTimeAsync(0);
    release!();
    await closing;
    expect(wrote).toEqual([1, 40, 60, null]);
    expect(maxInFlight).toBe(1);
    writer.report(value(70)); // after close: ignored
    await vi.advanceTimersByTimeAsync(1000);
    expect(wrote).toEqual([1, 40, 60, null]);
  });
});
