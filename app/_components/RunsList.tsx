"use client";
/**
 * A session's workflow runs with their steps and errors, newest first; Inngest links when Inngest
 * runs them. A running run whose step reports progress (a checkpoint taken, restored or verified)
 * shows it as a bar with files and bytes done.
 */
import { bytes, duration, time } from "./format";
import type { RunRow } from "./types";

type Progress = NonNullable<RunRow["progress"]>;

// The checkpoint engine's phases, as a person would say them.
const PHASES: Record<string, string> = {
  scan: "scanning files",
  hash: "checking what changed",
  upload: "uploading",
  manifest: "writing the manifest",
  download: "downloading",
  write: "writing files",
  verify: "verifying",
};

// Fixed locale: the page is rendered on the server and in the browser, and both must agree.
const count = (n: number) => n.toLocaleString("en-US");

/** "12,000 / 22,285 files · 210 MB / 430 MB" */
export function progressText(p: Progress): string {
  const files = `${count(p.filesDone)} / ${count(p.filesTotal)} files`;
  return p.bytesTotal > 0 ? `${files} · ${bytes(p.bytesDone)} / ${bytes(p.bytesTotal)}` : files;
}

export function RunProgressBar({ progress }: { progress: Progress }) {
  // Bytes measure the work better than files (one large file is most of a snapshot's time).
  const [done, total] = progress.bytesTotal > 0 ? [progress.bytesDone, progress.bytesTotal] : [progress.filesDone, progress.filesTotal];
  const percent = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return (
    <div className="run-progress" data-testid="run-progress" data-phase={progress.phase}>
      <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-label={progress.step}>
        <span style={{ width: `${percent}%` }} />
      </div>
      <span className="run-progress-text">
        {PHASES[progress.phase] ?? progress.phase} · {progressText(progress)} · {percent}%
      </span>
    </div>
  );
}

export function runRequestId(run: RunRow): string | null {
  try {
    const input = JSON.parse(run.input) as { data?: { requestId?: unknown }; requestId?: unknown };
    const id = input.data?.requestId ?? input.requestId;
    return typeof id === "string" ? id : null;
  } catch {
    return null;
  }
}

export function RunsList({ runs }: { runs: RunRow[] }) {
  if (runs.length === 0) return <p className="muted">No runs yet.</p>;
  return (
    <ul className="runs" data-testid="runs">
      {runs.map((run) => (
        <li key={run.id} data-status={run.status}>
          <div className="run-head">
            <strong>{run.workflow}</strong>
            <span className={`outcome outcome-${run.outcome}`} title={run.detail ?? undefined}>
              {run.label}
            </span>
            <a href={`/runs?session=${run.sessionId ?? ""}&run=${encodeURIComponent(run.id)}`}>steps</a>
            <span className="muted">
              {time(run.startedAt)}
              {run.endedAt !== null && ` · ${duration(run.endedAt - run.startedAt)}`}
            </span>
            {run.inngestUrl && (
              <a href={run.inngestUrl} target="_blank" rel="noreferrer">
                open in Inngest
              </a>
            )}
          </div>
          {run.error && <p className="error">{run.error}</p>}
          {run.status === "running" && run.progress && <RunProgressBar progress={run.progress} />}
          {run.steps.length > 0 && (
            <ol className="steps">
              {run.steps.map((step) => (
                <li key={step.name} data-status={step.status}>
                  <span className={`dot dot-${step.status}`} aria-hidden />
                  {step.name}
                  <span className="muted">
                    {step.endedAt !== null ? ` ${duration(step.endedAt - step.startedAt)}` : " …"}
                    {step.attempts > 1 && ` · ${step.attempts} attempts`}
                  </span>
                  {step.error && <span className="error"> {step.error}</span>}
                </li>
              ))}
            </ol>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Progress of one requested action: queued until its run appears, then its steps, then the outcome. */
export function ActionProgress({ label, requestId, runs }: { label: string; requestId: string | null; runs: RunRow[] }) {
  const run = requestId ? runs.find((r) => runRequestId(r) === requestId) : undefined;
  if (!run) {
    return (
      <p className="progress" data-testid="action-progress">
        <span className="spinner dark" aria-hidden /> {label}: queued…
      </p>
    );
  }
  const done = run.steps.filter((s) => s.status === "completed").length;
  const current = run.steps.find((s) => s.status === "running");
  const finished = run.status === "completed" || run.status === "failed" || run.status === "cancelled";
  return (
    <div className={`progress ${run.status === "failed" ? "error" : ""}`} data-testid="action-progress" data-status={run.status}>
      {!finished && <span className="spinner dark" aria-hidden />} {label}: {run.status}
      {!finished && ` · step ${done + 1}${current ? ` (${current.name})` : ""}`}
      {run.error && ` · ${run.error}`}
      {run.status === "running" && run.progress && <RunProgressBar progress={run.progress} />}
    </div>
  );
}
