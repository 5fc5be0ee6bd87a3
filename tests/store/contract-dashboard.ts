/**
 * The StateStore contract, third part: the fleet-wide paging (every session, past listSessions'
 * cap of 1,000) and the bounded dashboard reads. Registered by storeContract.
 */
import { expect, it } from "vitest";
import { allSessions } from "../../src/store/paging";
import type { StateStore } from "../../src/store/types";
import { MINUTE, T0 } from "./contract";

export function dashboardContract(current: () => StateStore): void {
  const create = (store: StateStore, i: number) =>
    store.createSession({ ownerId: `o${i % 7}`, provider: "local", template: "base", idleTimeoutMs: MINUTE, now: T0 + i });

  it("pages through every session, past listSessions' cap of 1,000, each exactly once", async () => {
    const store = current();
    const ids = new Set<string>();
    for (let i = 0; i < 1005; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, 1005 - i) }, (_, k) => create(store, i + k)));
      for (const s of batch) ids.add(s.id);
    }
    await store.transition([...ids][3]!, "delete", { now: T0 + 5000 });
    expect(await store.listSessions()).toHaveLength(1000);
    const seen: string[] = [];
    for await (const session of allSessions(store, 200)) seen.push(session.id);
    expect(seen).toHaveLength(1005);
    expect(new Set(seen)).toEqual(ids);

    const first = await store.listSessionsPage({ limit: 400 });
    expect(first.sessions).toHaveLength(400);
    expect(first.cursor).not.toBeNull();
    const second = await store.listSessionsPage({ cursor: first.cursor, limit: 400 });
    expect(second.sessions.map((s) => s.id).filter((id) => first.sessions.some((f) => f.id === id))).toEqual([]);
  });

  it("returns a null cursor after the last page", async () => {
    const store = current();
    expect(await store.listSessionsPage()).toEqual({ sessions: [], cursor: null });
    await create(store, 1);
    let page = await store.listSessionsPage({ limit: 5 });
    expect(page.sessions).toHaveLength(1);
    // A store may need one more (empty) page to know it is done; it never repeats a session.
    while (page.cursor !== null) {
      page = await store.listSessionsPage({ cursor: page.cursor, limit: 5 });
      expect(page.sessions).toEqual([]);
    }
  });

  it("summarises each session's checkpoints (latest committed, storage) in one call, through commits and deletions", async () => {
    const store = current();
    const [a, b, c] = [await create(store, 1), await create(store, 2), await create(store, 3)];
    await store.createCheckpoint({ id: "cp_a1", sessionId: a.id, parentId: null, kind: "hibernate", now: T0 + 10 });
    await store.commitCheckpoint("cp_a1", { files: 2, bytes: 100, uploadedBytes: 60 }, T0 + 11);
    await store.createCheckpoint({ id: "cp_a2", sessionId: a.id, parentId: "cp_a1", kind: "manual", label: "v2", now: T0 + 20 });
    await store.commitCheckpoint("cp_a2", { files: 3, bytes: 150, uploadedBytes: 10 }, T0 + 21);
    await store.createCheckpoint({ id: "cp_a3", sessionId: a.id, parentId: "cp_a2", kind: "hibernate", now: T0 + 30 }); // pending
    await store.createCheckpoint({ id: "cp_b1", sessionId: b.id, parentId: null, kind: "hibernate", now: T0 + 10 });
    await store.commitCheckpoint("cp_b1", { files: 1, bytes: 7, uploadedBytes: 7 }, T0 + 12);

    const sessions = await Promise.all([c, b, a].map((s) => store.getSession(s.id)));
    const [sc, sb, sa] = await store.sessionSummaries(sessions);
    expect(sc).toEqual({ sessionId: c.id, latestCheckpoint: null, storage: { logicalBytes: 0, describedBytes: 0, storedBytes: 0, checkpoints: 0 } });
    expect(sb!.storage).toEqual({ logicalBytes: 7, describedBytes: 7, storedBytes: 7, checkpoints: 1 });
    expect(sa).toEqual({
      sessionId: a.id,
      latestCheckpoint: { id: "cp_a2", bytes: 150, files: 3, uploadedBytes: 10, committedAt: T0 + 21, label: "v2" },
      storage: { logicalBytes: 150, describedBytes: 250, storedBytes: 70, checkpoints: 2 },
    });

    await store.markCheckpointDeleted("cp_a2", T0 + 40);
    const [after] = await store.sessionSummaries([await store.getSession(a.id)]);
    expect(after!.latestCheckpoint?.id).toBe("cp_a1");
    expect(after!.storage).toEqual({ logicalBytes: 100, describedBytes: 100, storedBytes: 60, checkpoints: 1 });
    expect(await store.sessionSummaries([])).toEqual([]);
  });

  it("lists runs without their steps when asked", async () => {
    const store = current();
    const s = await create(store, 1);
    const run = await store.createRun({ workflow: "hibernate-session", sessionId: s.id, input: {}, now: T0 });
    await store.recordStep(run.id, { name: "Pause", status: "completed", attempts: 1, startedAt: T0, endedAt: T0 + 1, error: null, output: null });
    expect((await store.listRuns({ sessionId: s.id }))[0]!.steps).toHaveLength(1);
    const [bare] = await store.listRuns({ sessionId: s.id, steps: false });
    expect(bare).toMatchObject({ id: run.id, steps: [] });
  });
}
