/**
 * Contract (issue 12): the flush step's index-backed read of due sessions (the row's oldest
 * pending change, kept by recordChanges and markChangesFlushed, also carried on Session.unsavedSince)
 * and the job cursors.
 */
import { expect, it } from "vitest";
import type { StateStore } from "../../src/store/types";
import { MINUTE, T0 } from "./contract";

export function fleetContract(get: () => StateStore): void {
  const running = (flushIntervalMs: number | null = null) =>
    get().createSession({ ownerId: "alice", provider: "local", template: "base", idleTimeoutMs: 10 * MINUTE, sandboxId: `sbx-${Math.random()}`, flushIntervalMs, now: T0 });

  it("lists running sessions whose oldest pending change is past their flush interval, and only those", async () => {
    const store = get();
    const global = await running(null);
    const own = await running(2 * MINUTE);
    const off = await running(0);
    const fresh = await running(null);
    const clean = await running(null);
    await store.recordChanges(global.id, [{ path: "a", operation: "write", at: T0 + 3 * MINUTE }, { path: "b", operation: "write", at: T0 + MINUTE }]);
    await store.recordChanges(own.id, [{ path: "a", operation: "write", at: T0 + 2 * MINUTE }]);
    await store.recordChanges(off.id, [{ path: "a", operation: "write", at: T0 }]);
    await store.recordChanges(fresh.id, [{ path: "a", operation: "write", at: T0 + 5 * MINUTE }]);
    void clean;
    // Global interval 3 min at T0 + 5 min: global's oldest (T0 + 1) is due, fresh's (T0 + 5) not;
    // own's (T0 + 2, own 2 min) is due; off never.
    const due = await store.listUnsavedSessions(T0 + 5 * MINUTE, 3 * MINUTE);
    expect(due.map((d) => d.session.id).sort()).toEqual([global.id, own.id].sort());
    expect(due.find((d) => d.session.id === global.id)!.unsavedSince).toBe(T0 + MINUTE);
    // Global off: only sessions with their own interval.
    expect((await store.listUnsavedSessions(T0 + 5 * MINUTE, 0)).map((d) => d.session.id)).toEqual([own.id]);

    // A flush up to T0 + 2 leaves the change at T0 + 3 as the oldest: due again only at T0 + 6.
    await store.markChangesFlushed(global.id, "cp-1", T0 + 2 * MINUTE, T0 + 5 * MINUTE);
    expect((await store.listUnsavedSessions(T0 + 5 * MINUTE, 3 * MINUTE)).map((d) => d.session.id)).toEqual([own.id]);
    expect((await store.listUnsavedSessions(T0 + 6 * MINUTE, 3 * MINUTE)).map((d) => d.session.id).sort()).toEqual([global.id, own.id].sort());
    // Everything flushed: not listed any more; a changed interval moves the due time.
    await store.markChangesFlushed(own.id, "cp-2", T0 + 10 * MINUTE, T0 + 6 * MINUTE);
    await store.updateSession(off.id, { flushIntervalMs: MINUTE }, { now: T0 + 6 * MINUTE });
    expect((await store.listUnsavedSessions(T0 + 6 * MINUTE, 0)).map((d) => d.session.id)).toEqual([off.id]);
    // A session that is no longer running is not listed.
    await store.transition(off.id, "hibernate.start", { now: T0 + 7 * MINUTE });
    expect(await store.listUnsavedSessions(T0 + 8 * MINUTE, 0)).toEqual([]);
  });

  it("carries the row's oldest pending change on got and listed sessions, kept by session writes, null once a commit covers it", async () => {
    const store = get();
    const s = await running(null);
    expect(s.unsavedSince).toBeNull();
    expect((await store.getSession(s.id)).unsavedSince).toBeNull();
    await store.recordChanges(s.id, [{ path: "a", operation: "write", at: T0 + 2 * MINUTE }, { path: "b", operation: "write", at: T0 + MINUTE }]);
    await store.recordChanges(s.id, [{ path: "c", operation: "write", at: T0 + 3 * MINUTE }]);
    expect((await store.getSession(s.id)).unsavedSince).toBe(T0 + MINUTE);
    expect((await store.listSessions({ ownerId: "alice" })).find((l) => l.id === s.id)!.unsavedSince).toBe(T0 + MINUTE);
    // A write of the whole session row (settings, activity, a checkpoint's commit) leaves it alone.
    await store.updateSession(s.id, { idleTimeoutMs: 20 * MINUTE }, { now: T0 + 3 * MINUTE });
    await store.recordActivity(s.id, { kind: "ping", at: T0 + 4 * MINUTE, coalesceMs: 0 });
    await store.createCheckpoint({ id: "cp_unsaved", sessionId: s.id, parentId: null, kind: "manual", now: T0 + 4 * MINUTE });
    await store.commitCheckpoint("cp_unsaved", { files: 3, bytes: 30, uploadedBytes: 30 }, T0 + 5 * MINUTE);
    expect((await store.getSession(s.id)).unsavedSince).toBe(T0 + MINUTE);
    // The commit's changes up to T0 + 2 flushed: the one at T0 + 3 is the oldest left; then none.
    await store.markChangesFlushed(s.id, "cp_unsaved", T0 + 2 * MINUTE, T0 + 5 * MINUTE);
    expect((await store.getSession(s.id)).unsavedSince).toBe(T0 + 3 * MINUTE);
    await store.markChangesFlushed(s.id, "cp_unsaved", T0 + 3 * MINUTE, T0 + 5 * MINUTE);
    expect((await store.getSession(s.id)).unsavedSince).toBeNull();
    expect((await store.listSessions({ ownerId: "alice" })).find((l) => l.id === s.id)!.unsavedSince).toBeNull();
  });

  it("keeps a job's cursor: none at first, saved, replaced, cleared", async () => {
    const store = get();
    expect(await store.getJobCursor("retention")).toBeNull();
    await store.setJobCursor("retention", "abc", T0);
    await store.setJobCursor("other", "x", T0);
    expect(await store.getJobCursor("retention")).toBe("abc");
    await store.setJobCursor("retention", "def", T0 + 1);
    expect(await store.getJobCursor("retention")).toBe("def");
    await store.setJobCursor("retention", null, T0 + 2);
    expect(await store.getJobCursor("retention")).toBeNull();
    expect(await store.getJobCursor("other")).toBe("x");
  });
}
