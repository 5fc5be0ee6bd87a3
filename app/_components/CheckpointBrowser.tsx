"use client";
/**
 * The checkpoint browser: one checkpoint's files, read straight from the object store
 * (checkpoints.files / readFile, no sandbox is woken), each viewable and downloadable, and what
 * the checkpoint changed against its parent (checkpoints.diff). A checkpoint never changes, so
 * each read is made once, not polled. RestoreConfirm shows what a restore would change against the
 * current files and restores only when confirmed.
 */
import { useState } from "react";
import { useApi, useApiQuery } from "./api";
import { bytes, shortId } from "./format";
import type { Outputs } from "./types";

type Diff = Outputs["checkpoints"]["diff"];

export function DiffList({ diff, verbs }: { diff: Diff; verbs: { added: string; changed: string; deleted: string } }) {
  const kinds = ["added", "changed", "deleted"] as const;
  const total = diff.counts.added + diff.counts.changed + diff.counts.deleted;
  if (total === 0) return <p className="muted" data-testid="diff">No differences.</p>;
  return (
    <div className="diff" data-testid="diff">
      {kinds.map((k) =>
        diff.counts[k] === 0 ? null : (
          <div key={k} data-kind={k}>
            <h3>
              {verbs[k]} ({diff.counts[k]})
            </h3>
            <ul className="mono">
              {diff[k].map((p) => (
                <li key={p} className={`diff-${k}`}>
                  {k === "added" ? "+" : k === "deleted" ? "−" : "~"} {p}
                </li>
              ))}
              {diff.counts[k] > diff[k].length && <li className="muted">… and {diff.counts[k] - diff[k].length} more</li>}
            </ul>
          </div>
        ),
      )}
    </div>
  );
}

function download(path: string, base64: string) {
  const data = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([data], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = path.split("/").pop() ?? "file";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function CheckpointBrowser({ sessionId, checkpointId, onClose }: { sessionId: string; checkpointId: string; onClose(): void }) {
  const { client } = useApi();
  const [preview, setPreview] = useState<{ path: string; text: string } | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const { data, error } = useApiQuery(
    ["checkpoint", checkpointId, "browse"],
    async (c, signal) => {
      const [files, diff] = await Promise.all([
        c.checkpoints.files.query({ sessionId, checkpointId }, { signal }),
        c.checkpoints.diff.query({ sessionId, checkpointId, against: "parent" }, { signal }),
      ]);
      return { files, diff };
    },
    { intervalMs: false },
  );

  const read = (path: string, then: (base64: string) => void) => {
    if (!client) return;
    setStatus(`Reading ${path}…`);
    client.checkpoints.readFile.query({ sessionId, checkpointId, path, encoding: "base64" }).then(
      (r) => (setStatus(null), then(r.content)),
      (e: unknown) => setStatus(e instanceof Error ? e.message : String(e)),
    );
  };
  const view = (path: string) => read(path, (b64) => setPreview({ path, text: new TextDecoder().decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))) }));

  return (
    <section className="panel" data-testid="checkpoint-browser" data-checkpoint={checkpointId}>
      <div className="toolbar">
        <h2>
          Checkpoint <span className="mono">{shortId(checkpointId)}</span>
        </h2>
        <button type="button" className="small" onClick={onClose}>
          Close
        </button>
      </div>
      <p className="muted">Read from the object store: the sandbox stays as it is.</p>
      {error && <p className="error">{error}</p>}
      {!data ? (
        <p className="muted">Loading…</p>
      ) : (
        <div className="columns">
          <div>
            <h3>Files ({data.files.total})</h3>
            <ul className="filelist" data-testid="checkpoint-files">
              {data.files.entries
                .filter((f) => f.type === "file")
                .map((f) => (
                  <li key={f.path} data-path={f.path}>
                    <button type="button" className="link-dark" onClick={() => view(f.path)}>
                      {f.path}
                    </button>{" "}
                    <span className="muted">{bytes(f.size)}</span>{" "}
                    <button type="button" className="small" aria-label={`Download ${f.path}`} onClick={() => read(f.path, (b64) => download(f.path, b64))}>
                      Download
                    </button>
                  </li>
                ))}
            </ul>
            {status && <p data-testid="browser-status">{status}</p>}
            {preview && (
              <div data-testid="preview">
                <h3 className="mono">{preview.path}</h3>
                <pre className="preview">{preview.text}</pre>
              </div>
            )}
          </div>
          <div>
            <h3>Against its parent {data.diff.against.id ? <span className="mono">{shortId(data.diff.against.id)}</span> : "(none: the first checkpoint)"}</h3>
            <DiffList diff={data.diff} verbs={{ added: "Added", changed: "Changed", deleted: "Deleted" }} />
          </div>
        </div>
      )}
    </section>
  );
}

export function RestoreConfirm({ sessionId, checkpointId, onConfirm, onCancel }: { sessionId: string; checkpointId: string; onConfirm(): void; onCancel(): void }) {
  // Against the current files: asked each time the dialog opens (the workspace moves).
  const { data, error } = useApiQuery(["session", sessionId, "restore-diff", checkpointId], (c, signal) => c.checkpoints.diff.query({ sessionId, checkpointId, against: "current" }, { signal }), { intervalMs: false });
  return (
    <div className="dialog-backdrop">
      <div className="dialog" role="dialog" aria-modal="true" aria-label="Confirm restore" data-testid="restore-confirm">
        <h2>
          Restore to <span className="mono">{shortId(checkpointId)}</span>?
        </h2>
        <p className="muted">
          {data?.against.kind === "workspace"
            ? "Compared with the sandbox's files now. Changes not in a checkpoint are lost unless you snapshot first."
            : `The session is asleep: compared with its latest checkpoint${data?.against.id ? ` (${shortId(data.against.id)})` : ""}.`}
        </p>
        {error && <p className="error">{error}</p>}
        {data ? <DiffList diff={data} verbs={{ added: "Brought back", changed: "Reverted", deleted: "Removed" }} /> : <p className="muted">Comparing…</p>}
        <div className="actions">
          <button type="button" className="danger" disabled={!data} onClick={onConfirm}>
            Restore
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
