/**
 * A run's outcome as a person reads it. The engine's status says only whether the code returned:
 * a hibernate that found activity and gave up (`{ status: "aborted" }`) or found another workflow
 * holding the lease (`"skipped"`) *completed*, yet did not do what its name says. The label comes
 * from the workflow's own result (HibernateResult, ArchiveResult, ResumeResult…), so the runs page
 * never shows an aborted hibernate as a green "completed".
 */
import type { RunRecord } from "../core/types";

export type RunOutcome = "queued" | "running" | "completed" | "aborted" | "skipped" | "failed" | "cancelled";

export interface RunOutcomeView {
  outcome: RunOutcome;
  /** "aborted: activity won", "completed: paused", "completed: connected", "failed"… */
  label: string;
  /** The result's reason or why, when it gives one. */
  detail: string | null;
}

function parse(result: string | null): Record<string, unknown> | null {
  if (result === null) return null;
  try {
    const value: unknown = JSON.parse(result);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const text = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

export function runOutcome(run: Pick<RunRecord, "status" | "result" | "error">): RunOutcomeView {
  if (run.status !== "completed") {
    return { outcome: run.status, label: run.status, detail: run.status === "failed" ? run.error : null };
  }
  const result = parse(run.result);
  const status = text(result?.status);
  // A resume reports the rung it used instead of a status ("skipped" when another run held the lease).
  const rung = text(result?.rung);
  const detail = text(result?.reason) ?? text(result?.why);
  if (status === "aborted") return { outcome: "aborted", label: "aborted: activity won", detail };
  if (status === "skipped" || rung === "skipped") return { outcome: "skipped", label: "skipped", detail };
  const what = status ?? rung;
  return { outcome: "completed", label: what ? `completed: ${what}` : "completed", detail };
}
