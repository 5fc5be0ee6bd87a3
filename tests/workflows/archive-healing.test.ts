/**
 * Archiving onto a damaged checkpoint, on real components (SQLite file, embedded S3, local
 * sandboxes, embedded engine):
 *
 * - the sandbox is still there: "Verify the latest checkpoint" finds the damage, a healing
 *   checkpoint (a rewrite snapshot that stores every file again) is taken, committed and verified,
 *   and only then is the sandbox killed; the session is archived on the healing checkpoint, with
 *   lastError saying what happened, and a later resume restores every file.
 * - healing is impossible (the sandbox is gone) or fails too (its objects are damaged as they are
 *   written): the archive is refused as before, the session stays paused with a clear lastError.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { keys } from "../../src/checkpoint/repo/format";
import type { RunRecord, Session } from "../../src/core/types";
import type { ObjectStore } from "../../src/objectstore/types";
import type { ArchiveResult } from "../../src/workflows/archive";
import type { ResumeResult } from "../../src/workflows/resume";
import type { TorporEvent } from "../../src/workflows/types";
import { createSessionWithFiles, expectFailedWithoutRetry, requestId, runWorkflow, sampleFiles, sha256, startWorkflowRuntime, stepOf, type WorkflowRuntime } from "../helpers/runtime";

/** Files over 8 KiB are standalone blobs; the rest go into packs. */
const SMALL_FILE_BYTES = 8192;

let rt: WorkflowRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

const run = (event: TorporEvent) => runWorkflow(rt!, event);
const hibernate = (sessionId: string) => run({ name: "torpor/session.hibernate.requested", data: { sessionId, reason: "idle", requestId: requestId() } });
const archive = (sessionId: string) => run({ name: "torpor/session.archive.requested", data: { sessionId, reason: "old", requestId: requestId() } });
const resume = (sessionId: string) => run({ name: "torpor/session.resume.requested", data: { sessionId, reason: "editor opened", requestId: requestId("resume") } });

function workspaceOf(sandboxId: string): string {
  const sandbox = rt!.config.sandbox;
  if (sandbox.kind !== "local") throw new Error("these tests need the local sandbox provider");
  return path.join(sandbox.root, sandboxId, "workspace");
}

/** Per path: type, permission bits, and SHA-256 or link target. */
async function hostTree(dir: string, rel = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await fs.readdir(path.join(dir, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await fs.lstat(path.join(dir, p));
    if (st.isSymbolicLink()) out[p] = `link -> ${await fs.readlink(path.join(dir, p))}`;
    else if (st.isDirectory()) Object.assign(out, { [p]: `dir ${(st.mode & 0o777).toString(8)}` }, await hostTree(dir, p));
    else out[p] = `file ${(st.mode & 0o777).toString(8)} ${sha256(await fs.readFile(path.join(dir, p)))}`;
  }
  return out;
}

async function allObjects(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const item of rt!.runtime.objects.list("")) out[item.key] = sha256(await rt!.runtime.objects.getBuffer(item.key));
  return out;
}

const flip = (buf: Buffer): Buffer => {
  const out = Buffer.from(buf);
  const at = Math.floor(out.length / 2);
  for (let i = at; i < Math.min(at + 4, out.length); i++) out[i] = out[i]! ^ 0x5a;
  return out;
};
async function damage(key: string): Promise<void> {
  await rt!.runtime.objects.put(key, flip(Buffer.from(await rt!.runtime.objects.getBuffer(key))));
}


/** A hibernated (paused) session with small files in a pack and two large blobs. */
async function pausedSession(seed: string): Promise<{ session: Session; paused: Session; expected: Record<string, string>; large: string }> {
  const big = Buffer.alloc(3 * SMALL_FILE_BYTES + 123, seed);
  const session = await createSessionWithFiles(rt!.runtime, { ...sampleFiles(seed), "big/large.bin": big });
  await fs.symlink("src/index.ts", path.join(workspaceOf(session.sandboxId!), "link-to-index"));
  const expected = await hostTree(workspaceOf(session.sandboxId!));
  expect((await hibernate(session.id)).status).toBe("completed");
  const paused = await rt!.runtime.store.getSession(session.id);
  expect(paused).toMatchObject({ state: "paused", sandboxId: session.sandboxId });
  return { session, paused, expected, large: keys.blob(sha256(big)) };
}

describe("archiving onto a damaged checkpoint", () => {
  it("heals it: a healing checkpoint is taken, committed and verified before the kill; resume restores every file", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_SMALL_FILE_BYTES: String(SMALL_FILE_BYTES) } });
    const { runtime } = rt;
    const { session, paused, expected, large } = await pausedSession("heal");
    const damagedId = paused.latestCheckpointId!;
    const packs = Object.keys(await allObjects()).filter((k) => k.startsWith("packs/"));
    expect(packs).toHaveLength(1);
    await damage(large);
    await damage(packs[0]!);
    expect((await runtime.checkpoints.verify(damagedId)).ok).toBe(false);

    const archived = await archive(session.id);
    expect(archived.status).toBe("completed");
    const names = archived.steps.map((s) => s.name);
    expect(names.indexOf("Verify the latest checkpoint")).toBeLessThan(names.indexOf("Take a healing checkpoint after a failed verify"));
    expect(names.indexOf("Verify the healing checkpoint")).toBeLessThan(names.indexOf("Kill the sandbox"));
    expect(stepOf(archived, "Take a healing checkpoint after a failed verify")).toMatchObject({ status: "completed", attempts: 1 });
    const result = JSON.parse(archived.result!) as ArchiveResult;
    const healedId = result.checkpointId!;
    expect(healedId).not.toBe(damagedId);
    expect(result).toMatchObject({ status: "archived", healed: { failedCheckpointId: damagedId, checkpointId: healedId } });
    expect(result.healed!.problem).toMatch(/corrupt, truncated or tampered/);

    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "archived", sandboxId: null, lease: null, latestCheckpointId: healedId });
    expect(s.lastError).toMatch(new RegExp(`^verify of ${damagedId} failed: .*corrupt, truncated or tampered.*; healed with ${healedId}$`));
    expect(await runtime.store.getCheckpoint(healedId)).toMatchObject({ status: "committed", parentId: damagedId });
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("gone");
    expect((await runtime.checkpoints.verify(healedId)).problems).toEqual([]);
    // The large blob object was written again with correct bytes, for every checkpoint naming it.
    expect((await runtime.checkpoints.verify(damagedId)).problems.map((p) => p.path)).not.toContain("big/large.bin");

    const resumed = await resume(session.id);
    expect(resumed.status).toBe("completed");
    const back = JSON.parse(resumed.result!) as ResumeResult;
    expect(back.checkpointId).toBe(healedId);
    expect(await hostTree(workspaceOf(back.sandboxId!))).toEqual(expected);
  });

  it("cannot heal when the sandbox is gone: refused at once, the session stays paused, nothing is stored", async () => {
    rt = await startWorkflowRuntime({ env: { TORPOR_SMALL_FILE_BYTES: String(SMALL_FILE_BYTES) } });
    const { runtime } = rt;
    const { session, paused, large } = await pausedSession("gone");
    await damage(large);
    await runtime.sandboxes.kill(session.sandboxId!);
    const objectsBefore = await allObjects();

    const failed = await archive(session.id);
    expect(failed.status).toBe("failed");
    expectFailedWithoutRetry(failed, "Take a healing checkpoint after a failed verify");
    expect(failed.steps.map((s) => s.name)).not.toContain("Kill the sandbox");
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "paused", latestCheckpointId: paused.latestCheckpointId, lease: null });
    expect(s.lastError).toMatch(/^archive failed: Checkpoint 'cp_[0-9a-z]+' failed verification: big\/large\.bin: .*; cannot heal it: /);
    expect(await allObjects()).toEqual(objectsBefore);
  });

  it("refuses when the healing checkpoint fails verification too: the paused sandbox keeps its files", async () => {
    // A store that damages the large blob as it is written: healing cannot produce good objects.
    let corruptLarge: string | null = null;
    rt = await startWorkflowRuntime({
      env: { TORPOR_SMALL_FILE_BYTES: String(SMALL_FILE_BYTES) },
      wrapObjects: (inner: ObjectStore): ObjectStore => ({
        ...inner,
        description: inner.description,
        async put(key, body, options) {
          if (key !== corruptLarge) return inner.put(key, body, options);
          const chunks: Buffer[] = [];
          if (typeof body === "string" || body instanceof Uint8Array) chunks.push(Buffer.from(body));
          else for await (const chunk of body as Readable) chunks.push(Buffer.from(chunk as Buffer));
          return inner.put(key, flip(Buffer.concat(chunks)));
        },
      }),
    });
    const { runtime } = rt;
    const { session, paused, expected, large } = await pausedSession("twice");
    await damage(large);
    corruptLarge = large;

    const failed = await archive(session.id);
    expect(failed.status).toBe("failed");
    expect(stepOf(failed, "Take a healing checkpoint after a failed verify").status).toBe("completed");
    expectFailedWithoutRetry(failed, "Verify the healing checkpoint");
    expect(failed.steps.map((s) => s.name)).not.toContain("Kill the sandbox");
    const s = await runtime.store.getSession(session.id);
    expect(s).toMatchObject({ state: "paused", sandboxId: session.sandboxId, lease: null });
    expect(s.latestCheckpointId).not.toBe(paused.latestCheckpointId);
    expect(s.lastError).toMatch(/^archive failed: Checkpoint 'cp_[0-9a-z]+' failed verification: big\/large\.bin: .*; healing checkpoint 'cp_[0-9a-z]+' failed verification too: big\/large\.bin: /);
    expect(await runtime.sandboxes.status(session.sandboxId!)).toBe("paused");
    expect(await hostTree(workspaceOf(session.sandboxId!))).toEqual(expected);

    corruptLarge = null;
    const resumed = await resume(session.id);
    expect(JSON.parse(resumed.result!) as ResumeResult).toMatchObject({ rung: "connected", sandboxId: session.sandboxId });
    expect(await hostTree(workspaceOf(session.sandboxId!))).toEqual(expected);
  });
});
