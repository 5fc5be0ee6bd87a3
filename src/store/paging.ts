/**
 * Walks every session of a store page by page (StateStore.listSessionsPage), for the fleet-wide
 * jobs that must not stop at listSessions' cap of the newest 1,000.
 */
import type { Session } from "../core/types";
import type { StateStore } from "./types";

export async function* allSessions(store: Pick<StateStore, "listSessionsPage">, pageSize = 500): AsyncGenerator<Session> {
  let cursor: string | null = null;
  do {
    const page = await store.listSessionsPage({ cursor, limit: pageSize });
    yield* page.sessions;
    cursor = page.cursor;
  } while (cursor !== null);
}
