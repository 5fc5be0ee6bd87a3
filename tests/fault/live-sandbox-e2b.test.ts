/**
 * The live-sandbox fault scenario on the E2B double (tests/sandbox/fake-e2b: commands under
 * bubblewrap, background processes SIGSTOPped while paused, as E2B's snapshot freezes them). E2B
 * cannot be read while paused, so Torpor reads it running: the hibernate's checkpoint is taken
 * while the sandbox writes, and the archive resumes it to compare it with the latest manifest,
 * takes a final checkpoint when anything differs, and kills it only if a last comparison still
 * matches (activity wins: "aborted", and the sandbox lives on).
 *
 * Each round's sandbox writes a file every 10-30 ms, 60-150 files in all (a count, so that what it
 * wrote is known), and in some rounds 100 MB first; then it writes `done` with its count. The
 * session goes hibernate → (sometimes resume → hibernate) → archive, the archive asked again
 * while it aborts, → resume. The restored sandbox must hold every file the writer wrote, with its
 * content: the count of lost files is printed.
 *
 * TORPOR_LIVE_SEED picks the first seed (default 1); the rounds use seed, seed+1, …
 */
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it, vi } from "vitest";
import type { ArchiveResult } from "../../src/workflows/archive";
import type { ResumeResult } from "../../src/workflows/resume";
import { cleanUpFakes } from "../sandbox/fake-e2b";
import { sandboxFingerprint, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";
import { seeded } from "../helpers/seeded";
import { liveSession, runLiveRounds } from "./live-session";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("../sandbox/fake-e2b")).FakeSandbox,
}));

const ROUNDS = 20;
const FIRST_SEED = Number(process.env.TORPOR_LIVE_SEED ?? 1);
const BULK_BYTES = 100 * 1024 * 1024;
/** Archive attempts per round: each one that aborts lets the writer run on (the archive resumed it). */
const ARCHIVE_ATTEMPTS = 60;


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const totals = { rounds: 0, written: 0, lost: 0, bulkRounds: 0, abortedArchives: 0, finalCheckpoints: 0 };

async function round(rt: WorkflowRuntime, seed: number, bulk: boolean): Promise<{ written: number; lost: string[] }> {
  const { runtime } = rt;
  const rand = seeded(seed);
  const every = (0.01 + rand() * 0.02).toFixed(3);
  const count = 60 + Math.floor(rand() * 91);
  const bulkWrite = bulk ? `head -c ${BULK_BYTES} /dev/urandom > bulk.bin && sha256sum bulk.bin | cut -d' ' -f1 > bulk.sum; ` : "";
  const writer = `${bulkWrite}for i in $(seq 1 ${count}); do echo ${seed}-$i > f$i; sleep ${every}; done; echo ${count} > done; sleep 3600`;
  const { info, session, run } = await liveSession(rt, seed, writer);
  await sleep(rand() * 300);
  await run("hibernate");
  if (rand() < 0.3) {
    expect((await run("resume")).rung).toBe("connected");
    await sleep(rand() * 300);
    await run("hibernate");
  }
  expect((await runtime.store.getSession(session.id)).state).toBe("paused");

  let archived: ArchiveResult | undefined;
  for (let attempt = 0; attempt < ARCHIVE_ATTEMPTS && !archived; attempt++) {
    const result = (await run("archive")) as unknown as ArchiveResult;
    if (result.status === "archived") {
      archived = result;
      if (result.finalCheckpoint) totals.finalCheckpoints++;
    }
    else {
      // While the writer runs, the sandbox differs from every checkpoint: the archive must not kill it.
      expect(result.status, result.reason).toBe("aborted");
      expect(await runtime.sandboxes.status(info.id)).not.toBe("gone");
      totals.abortedArchives++;
      await sleep(100);
    }
  }
  expect(archived, `round ${seed}: no archive in ${ARCHIVE_ATTEMPTS} attempts`).toBeDefined();
  expect(await runtime.sandboxes.status(info.id)).toBe("gone");

  const resumed = (await run("resume")) as unknown as ResumeResult;
  expect(resumed.rung).toBe("restored");
  const back = await runtime.store.getSession(session.id);
  const restored = await sandboxFingerprint(runtime.sandboxes, back.sandboxId!);
  const expected: Record<string, string> = { done: sha256(`${count}\n`) };
  for (let i = 1; i <= count; i++) expected[`f${i}`] = sha256(`${seed}-${i}\n`);
  const lost = Object.keys(expected).filter((file) => restored[file] !== expected[file]);
  if (bulk) {
    // The restored bulk file must hash to what the sandbox computed right after writing it.
    const sum = (await runtime.sandboxes.readFile(back.sandboxId!, "bulk.sum")).toString().trim();
    if (restored["bulk.bin"] !== sum) lost.push("bulk.bin");
  }
  await runtime.sandboxes.kill(back.sandboxId!);
  return { written: count + 1 + (bulk ? 2 : 0), lost };
}

describe("live sandbox on the E2B double", () => {
  afterAll(async () => {
    console.log(
      `live sandbox (E2B double): ${totals.rounds} rounds (${totals.bulkRounds} with a 100 MB bulk write), ${totals.written} files written, ${totals.lost} lost; ${totals.abortedArchives} archives aborted while the sandbox still wrote, ${totals.finalCheckpoints} took a final checkpoint`,
    );
    await cleanUpFakes();
  });

  it(`${ROUNDS} seeded rounds of hibernate → archive → resume while the sandbox writes: nothing lost`, async () => {
    const rt = await startWorkflowRuntime({ env: { E2B_API_KEY: "e2b_test" } });
    expect(rt.runtime.sandboxes.kind).toBe("e2b");
    await runLiveRounds(rt, ROUNDS, FIRST_SEED, totals, round);
  }, 480_000);
});
