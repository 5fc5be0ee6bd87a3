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
}
