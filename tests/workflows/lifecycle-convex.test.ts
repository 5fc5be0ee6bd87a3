/// <reference types="vite/client" />
/**
 * The lifecycle on the production state store's double: hibernate, archive and resume run on the
 * embedded engine with real local sandboxes, but every session, checkpoint, change row and run
 * goes through the Convex adapter (src/store/convex.ts) to the real functions in convex/ under
 * convex-test, with schema, validators, indexes and transaction limits enforced. The files made
 * through the API and by the sandbox's own process must all come back after the archive.
 */
import { convexTest } from "convex-test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import schema from "../../convex/schema";
import { createConvexStore, type ConvexClientLike } from "../../src/store/convex";
import type { TorporEvent } from "../../src/workflows/types";
import { createSessionWithFiles, fingerprint, lostFiles, requestId, runWorkflow, sampleFiles, sandboxFingerprint, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

const modules = import.meta.glob("../../convex/**/*.*s");
const SECRET = "test-secret-0123456789abcdef";
let previous: string | undefined;
let rt: WorkflowRuntime;
let t: ReturnType<typeof convexTest>;

beforeAll(async () => {
  previous = process.env.TORPOR_CONVEX_SECRET;
  process.env.TORPOR_CONVEX_SECRET = SECRET;
  t = convexTest({ schema, modules, transactionLimits: true });
  const client = t as unknown as ConvexClientLike;
  rt = await startWorkflowRuntime({ wrapStore: () => createConvexStore({ url: "https://unused.convex.cloud", secret: SECRET, client }) });
});
afterAll(async () => {
  await rt?.close();
  if (previous === undefined) delete process.env.TORPOR_CONVEX_SECRET;
  else process.env.TORPOR_CONVEX_SECRET = previous;
});

describe("the lifecycle on the Convex store (convex-test)", () => {
  it("hibernates, archives and resumes a session, with every file back and every run recorded in Convex", async () => {
    const { runtime } = rt;
    const files = sampleFiles("convex");
    const session = await createSessionWithFiles(runtime, files);
    // A file the sandbox's own process writes, not the API.
    const own = await runtime.sandboxes.exec(session.sandboxId!, "mkdir -p made && echo 'by the sandbox' > made/inside.txt");
    expect(own.exitCode, own.stderr).toBe(0);
    const expected = { ...fingerprint(files), ...fingerprint({ "made/inside.txt": "by the sandbox\n" }) };

    const send = (name: TorporEvent["name"]) =>
      runWorkflow(rt, { name, data: { sessionId: session.id, reason: "convex lifecycle test", requestId: requestId("convex") } } as TorporEvent, { timeoutMs: 30_000 });
    const runs = [];
    for (const name of ["torpor/session.hibernate.requested", "torpor/session.archive.requested", "torpor/session.resume.requested"] as const) {
      const run = await send(name);
      expect(run.status, `${name}: ${run.error ?? ""}`).toBe("completed");
      runs.push(run);
    }
    expect(JSON.parse(runs[0]!.result!)).toMatchObject({ status: "paused" });
    expect(JSON.parse(runs[2]!.result!)).toMatchObject({ rung: "restored" });

    const back = await runtime.store.getSession(session.id);
    expect(back.state).toBe("running");
    expect(back.sandboxId).not.toBe(session.sandboxId);
    expect(lostFiles(expected, await sandboxFingerprint(runtime.sandboxes, back.sandboxId!))).toEqual([]);
    // The runs and the checkpoint are Convex's records, read back through the adapter.
    for (const run of runs) expect((await runtime.store.getRun(run.id))?.status).toBe("completed");
    expect(back.latestCheckpointId).not.toBeNull();
    expect((await runtime.store.listCheckpoints(session.id)).map((c) => c.id)).toContain(back.latestCheckpointId);
    // And they are in Convex's tables, not in the embedded SQLite file the runtime also opened.
    const stored = await t.run(async (ctx) => ({
      sessions: (await ctx.db.query("sessions").collect()).map((d) => d.sessionId),
      runs: (await ctx.db.query("runs").collect()).length,
    }));
    expect(stored.sessions).toEqual([session.id]);
    expect(stored.runs).toBeGreaterThanOrEqual(3);
  });
});
