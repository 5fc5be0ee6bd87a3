/**
 * `waitReady(client, sessionId, { timeoutMs })`: resolves when the session is running, waking it if
 * it sleeps. Each round is one long-poll (`sessions.waitReady`, at most 20 s on the server), so a
 * host app waits with one open request instead of polling. Rejects with a TorporWaitTimeout after
 * `timeoutMs` (default 2 min), and with the server's error for a deleted or foreign session.
 *
 * Writes made while a session is hibernating, resuming or restoring answer CONFLICT with
 * `isRetriableBusy(error)` true: wait with this function and send them again.
 */
import { TRPCClientError } from "@trpc/client";
import type { TorporClient } from "./client";

const SERVER_MAX_WAIT_MS = 20_000;

export class TorporWaitTimeout extends Error {
  constructor(
    readonly sessionId: string,
    readonly state: string,
    readonly timeoutMs: number,
  ) {
    super(`Session '${sessionId}' is still ${state} after ${timeoutMs} ms`);
    this.name = "TorporWaitTimeout";
  }
}

export interface WaitReadyOptions {
  /** Total time to wait. Default 120 s. */
  timeoutMs?: number;
  /** Wake a sleeping session (default true); false only waits. */
  wake?: boolean;
  signal?: AbortSignal;
}

export async function waitReady(client: TorporClient, sessionId: string, options: WaitReadyOptions = {}): Promise<{ state: string; waitedMs: number }> {
  const { timeoutMs = 120_000, signal } = options;
  const started = Date.now();
  let wake = options.wake ?? true;
  for (;;) {
    const left = timeoutMs - (Date.now() - started);
    const result = await client.sessions.waitReady.query(
      { sessionId, timeoutMs: Math.max(0, Math.min(SERVER_MAX_WAIT_MS, left)), wake },
      { signal },
    );
    if (result.ready) return { state: result.state, waitedMs: Date.now() - started };
    // The first round woke it; later rounds only wait (no second resume request).
    wake = false;
    if (Date.now() - started >= timeoutMs || signal?.aborted) throw new TorporWaitTimeout(sessionId, result.state, timeoutMs);
  }
}

/** True for the answer to a call made during a transient state (hibernating, resuming…): wait, then retry. */
export function isRetriableBusy(error: unknown): boolean {
  if (!(error instanceof TRPCClientError)) return false;
  const data = error.data as { code?: unknown; torporCode?: unknown } | undefined;
  return data?.code === "CONFLICT" && data.torporCode === "LEASE_HELD";
}
