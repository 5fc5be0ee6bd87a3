"use client";
/**
 * One run's steps on a time axis, as Inngest's and trace viewers draw them: each step a bar from
 * its start to its end relative to the run's start, with its duration, attempts and error, and its
 * output (the journaled result) folded away.
 */
import { duration, time } from "./format";
import type { RunDetail } from "./types";

const OUTPUT_CHARS = 2000;

export function RunWaterfall({ run, now }: { run: RunDetail; now: number }) {
  const end = run.endedAt ?? now;
  const span = Math.max(1, end - run.startedAt, ...run.steps.map((s) => (s.endedAt ?? now) - run.startedAt));
  const pct = (ms: number) => `${Math.max(0, Math.min(100, (ms / span) * 100)).toFixed(2)}%`;
  return (
    <div className="card" data-testid="run-detail" data-run={run.id}>
      <div className="run-head">
        <strong>{run.workflow}</strong>
        <span className={`outcome outcome-${run.outcome}`} data-testid="run-outcome">
          {run.label}
        </span>
        <span className="muted">
          {time(run.startedAt)} · {run.endedAt !== null ? duration(run.endedAt - run.startedAt) : "running"}
        </span>
        {run.inngestUrl && (
          <a href={run.inngestUrl} target="_blank" rel="noreferrer" data-testid="inngest-link">
            open in Inngest
          </a>
        )}
      </div>
      {run.detail && <p className={run.outcome === "failed" ? "error" : "muted"}>{run.detail}</p>}
      {run.steps.length === 0 ? (
        <p className="muted">No steps recorded.</p>
      ) : (
        <ol className="waterfall" data-testid="waterfall">
          {run.steps.map((step) => {
            const from = step.startedAt - run.startedAt;
            const took = (step.endedAt ?? now) - step.startedAt;
            return (
              <li key={step.name} data-status={step.status}>
                <span title={step.name}>{step.name}</span>
                <span className="track">
                  <span className={`span ${step.status}`} style={{ left: pct(from), width: pct(took) }} />
                </span>
                <span className="muted num">
                  +{duration(from)} · {step.endedAt !== null ? duration(took) : "…"}
                  {step.attempts > 1 && <span className="warn"> · {step.attempts}×</span>}
                </span>
                {step.error && <span className="step-error">{step.error}</span>}
                {step.output !== null && step.output !== "null" && (
                  <details className="step-error" style={{ color: "inherit" }}>
                    <summary className="muted">output</summary>
                    <pre className="mono">{step.output.length > OUTPUT_CHARS ? `${step.output.slice(0, OUTPUT_CHARS)}…` : step.output}</pre>
                  </details>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {run.result !== null && (
        <details>
          <summary className="muted">result</summary>
          <pre className="mono">{run.result}</pre>
        </details>
      )}
    </div>
  );
}
