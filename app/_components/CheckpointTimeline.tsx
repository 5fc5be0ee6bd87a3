"use client";
/**
 * A session's checkpoints as a timeline (newest first): size, files, bytes uploaded, a browse
 * button (its files and its diff, without the sandbox) and a restore button (which asks first).
 */
import { bytes, shortId, time } from "./format";
import type { CheckpointRow } from "./types";

export function CheckpointTimeline({
  checkpoints,
  latestId,
  busy,
  onRestore,
  onBrowse,
}: {
  checkpoints: CheckpointRow[];
  latestId: string | null;
  busy: boolean;
  onRestore(checkpointId: string): void;
  onBrowse(checkpointId: string): void;
}) {
  if (checkpoints.length === 0) return <p className="muted">No checkpoints yet.</p>;
  return (
    <ol className="timeline" data-testid="checkpoints">
      {checkpoints.map((c) => (
        <li key={c.id} data-checkpoint={c.id} data-status={c.status}>
          <div className="run-head">
            <span className="mono" title={c.id}>
              {shortId(c.id)}
            </span>
            <span className="tag">{c.kind}</span>
            {c.label && <span className="tag">{c.label}</span>}
            {c.id === latestId && <span className="tag latest">latest</span>}
            {c.status !== "committed" && <span className="status">{c.status}</span>}
            {c.pinned && <span className="tag">pinned</span>}
          </div>
          <div className="muted">
            {time(c.committedAt ?? c.createdAt)} · {c.files} files · {bytes(c.bytes)} · uploaded {bytes(c.uploadedBytes)}
          </div>
          {c.status === "committed" && (
            <div className="actions">
              <button type="button" className="small" onClick={() => onBrowse(c.id)}>
                Browse files
              </button>
              <button type="button" className="small" disabled={busy} onClick={() => onRestore(c.id)}>
                Restore to this…
              </button>
            </div>
          )}
        </li>
      ))}
    </ol>
  );
}
