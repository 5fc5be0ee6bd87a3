/**
 * The live-sandbox fault scenario: processes inside the sandbox write all the time (a file every
 * 10-30 ms, and a 100 MB bulk write in some rounds) while the session goes hibernate → archive →
 * resume on the local provider. Each round's seed decides the timings: how long the writer runs
 * before the hibernate, whether the host writes into the paused sandbox (not through the API, so
 * without a change row) and whether the session is woken and hibernated once more before the
 * archive. Whatever the paused sandbox held right before the archive must be in the checkpoint
 * the archive kept, and in the sandbox the resume restored: the count of lost files is printed.
 *
 * TORPOR_LIVE_SEED picks the first seed (default 1); the rounds use seed, seed+1, …
 */
import { afterAll, describe, expect, it } from "vitest";
import type { ArchiveResult } from "../../src/workflows/archive";
import type { ResumeResult } from "../../src/workflows/resume";
import { lostFiles, sandboxFingerprint, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";
import { seeded } from "../helpers/seeded";
import { liveSession, runLiveRounds } from "./live-session";
import { checkLatestCheckpoint } from "./support";

const ROUNDS = 20;
const FIRST_SEED = Number(process.env.TORPOR_LIVE_SEED ?? 1);
const BULK_BYTES = 100 * 1024 * 1024;


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const totals = { rounds: 0, written: 0, lost: 0, bulkRounds: 0 };

async function round(rt: WorkflowRuntime, seed: number, bulk: boolean): Promise<{ written: number; lost: string[] }> {
  const { runtime } = rt;
  const rand = seeded(seed);
  const every = (0.01 + rand() * 0.02).toFixed(3);
  const writer = `i=0; while true; do i=$((i+1)); echo ${seed}-$i > f$i; sleep ${every}; done`;
  const bulkWrite = `head -c ${BULK_BYTES} /dev/urandom > bulk.bin & `;
  const { info, session, run } = await liveSession(rt, seed, bulk ? bulkWrite + writer : writer);
  await sleep(rand() * 500);
  await run("hibernate");
  if (rand() < 0.3) {
    // Woken and put to sleep again: the writer runs on between the two, then is frozen again.
    expect((await run("resume")).rung).toBe("connected");
    await sleep(rand() * 300);
    await run("hibernate");
  }
  expect((await runtime.store.getSession(session.id)).state).toBe("paused");
  // A host-side write into the paused sandbox: no change row, only the archive's scan sees it.
  if (rand() < 0.4) await runtime.sandboxes.writeFile(info.id, `host-${seed}.txt`, `written while paused, round ${seed}\n`);
  const held = await sandboxFingerprint(runtime.sandboxes, info.id);

  const archived = (await run("archive")) as unknown as ArchiveResult;
  expect(archived.status, archived.reason).toBe("archived");
  const lost = await checkLatestCheckpoint(runtime, session.id, held);
  const resumed = (await run("resume")) as unknown as ResumeResult;
  expect(resumed.rung).toBe("restored");
  // What a restarted start command could rewrite (bulk.bin) is checked in the checkpoint above only.
  const back = await runtime.store.getSession(session.id);
  const restored = await sandboxFingerprint(runtime.sandboxes, back.sandboxId!);
  const small = Object.fromEntries(Object.entries(held).filter(([file]) => file !== "bulk.bin"));
  lost.push(...lostFiles(small, restored).filter((file) => !lost.includes(file)));
  await runtime.sandboxes.kill(back.sandboxId!);
  return { written: Object.keys(held).length, lost };
}

describe("live sandbox", () => {
  afterAll(() => {
    console.log(`live sandbox: ${totals.rounds} rounds (${totals.bulkRounds} with a 100 MB bulk write), ${totals.written} files written, ${totals.lost} lost`);
  });

  it(`${ROUNDS} seeded rounds of hibernate → archive → resume while the sandbox writes: nothing lost`, async () => {
    const rt = await startWorkflowRuntime();
    await runLiveRounds(rt, ROUNDS, FIRST_SEED, totals, round);
  }, 240_000);
});
