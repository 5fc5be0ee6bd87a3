/**
 * Reaping: E2B sandboxes Torpor made that no session points at any more (a crash between create
 * and the row's write, a resume that failed after its restore, a kill that never arrived). They
 * are found by their tags — `torporSession` (+ `torporRun`) on sandboxes a workflow made,
 * `torporSessionId` on those sessions.create made — and killed, unless:
 *   - their session points at them (sandboxId);
 *   - their session's lease is live (a run may be creating it and not have recorded it yet);
 *   - they are younger than `graceMs` (the same race, seen from a store that lags).
 * A paused orphan is killed too: E2B keeps (and bills the storage of) paused sandboxes.
 *
 * A tag naming a session this store does not know is killed only with `unknownSessions: "kill"`
 * (the default, right for the local provider, whose sandboxes live in this data dir). On E2B one
 * API key may serve several deployments (staging and production, two developers): their
 * sessions are unknown here, so the scheduled reaper keeps such sandboxes (`"keep"`) and counts
 * them. Every session row is written before its first sandbox is made, so a sandbox of this
 * deployment never names an unknown session.
 */
import type { Session } from "../../core/types";
import { isLeaseLive } from "../../core/lifecycle";
import type { SandboxInfo, SandboxProvider } from "../types";

export const SESSION_TAGS = ["torporSession", "torporSessionId"] as const;

export interface ReapResult {
  examined: number;
  killed: { sandboxId: string; sessionId: string; why: string }[];
  /** Tagged sandboxes kept because their session is unknown here (`unknownSessions: "keep"`). */
  foreign?: number;
}

export function sessionOf(info: Pick<SandboxInfo, "metadata">): string | null {
  for (const tag of SESSION_TAGS) if (info.metadata[tag]) return info.metadata[tag]!;
  return null;
}

/** Why an orphan may be killed, or null to keep it. */
export function orphanReason(info: SandboxInfo, session: Session | null, now: number, graceMs: number): string | null {
  if (now - info.startedAt < graceMs) return null;
  if (session === null) return "its session does not exist";
  if (session.sandboxId === info.id) return null;
  if (isLeaseLive(session.lease, now)) return null;
  return session.state === "deleted" ? "its session is deleted" : `its session points at ${session.sandboxId ?? "no sandbox"}`;
}

export async function reapOrphanSandboxes(
  sandboxes: Pick<SandboxProvider, "findSandboxes" | "kill">,
  findSession: (sessionId: string) => Promise<Session | null>,
  options: { now: number; graceMs: number; unknownSessions?: "kill" | "keep" },
): Promise<ReapResult> {
  if (!sandboxes.findSandboxes) return { examined: 0, killed: [] };
  const tagged = (await sandboxes.findSandboxes({})).filter((s) => sessionOf(s) !== null);
  const killed: ReapResult["killed"] = [];
  let foreign = 0;
  for (const info of tagged) {
    const sessionId = sessionOf(info)!;
    const session = await findSession(sessionId);
    if (session === null && options.unknownSessions === "keep") {
      foreign++;
      continue;
    }
    const why = orphanReason(info, session, options.now, options.graceMs);
    if (why === null) continue;
    await sandboxes.kill(info.id);
    killed.push({ sandboxId: info.id, sessionId, why });
  }
  return { examined: tagged.length, killed, ...(options.unknownSessions === "keep" ? { foreign } : {}) };
}
