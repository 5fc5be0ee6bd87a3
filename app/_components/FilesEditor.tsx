"use client";
/**
 * A minimal editor over the files API: the workspace's files, one open in a text area, Save writes
 * it through Torpor (a change row and file activity). While this page is visible and focused it
 * pings the session with usePresencePing, like a host app's editor would: the session stays awake,
 * and a paused one is woken. An archived one is not woken without asking: that is a restore from
 * its checkpoint (slower, and a new sandbox), so the page waits until the user says so; its files
 * can be looked at without waking it in the checkpoint browser.
 */
import Link from "next/link";
import { useEffect, useState } from "react";
import { usePresencePing } from "../../src/client";
import { useApi, useApiQuery } from "./api";
import { bytes } from "./format";
import { StateBadge } from "./StateBadge";

export function FilesEditor({ sessionId }: { sessionId: string }) {
  const { client } = useApi();
  const [pings, setPings] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [status, setStatus] = useState<string | null>(null);
  const [wakeArchived, setWakeArchived] = useState(false);
  const { data: session } = useApiQuery(["session", sessionId, "get"], (c, signal) => c.sessions.get.query({ sessionId }, { signal }));
  // Until the session is read its state is unknown: no ping, so an archived one is never woken by accident.
  const mayPing = session !== undefined && (session.state !== "archived" || wakeArchived);
  // A third of the idle timeout (at most 30 s): two pings may be lost before the sweep sees it idle.
  const intervalMs = Math.max(500, Math.min(30_000, Math.floor((session?.idleTimeoutMs ?? 90_000) / 3)));
  usePresencePing(client, sessionId, {
    intervalMs,
    enabled: mayPing,
    onPing: () => setPings((n) => n + 1),
    onError: (e) => setStatus(e instanceof Error ? e.message : String(e)),
  });
  const running = session?.state === "running";
  // Listed only while running: listing a sleeping session's files would be refused (and must not wake it).
  const { data: files, error } = useApiQuery(["session", sessionId, "files"], (c, signal) => c.files.list.query({ sessionId }, { signal }), {
    intervalMs: 3000,
    enabled: running,
  });

  useEffect(() => {
    if (!client || !open || !running) return;
    client.files.read.query({ sessionId, path: open }).then(
      (r) => (setText(r.content), setStatus(null)),
      (e: unknown) => setStatus(e instanceof Error ? e.message : String(e)),
    );
    // Re-read only when another file is opened or the session comes back.
  }, [client, sessionId, open, running]);

  const save = () => {
    if (!client || !open) return;
    setStatus("Saving…");
    client.files.write.mutate({ sessionId, path: open, content: text }).then(
      (r) => setStatus(`Saved ${r.path} (${bytes(r.size)})`),
      (e: unknown) => setStatus(e instanceof Error ? e.message : String(e)),
    );
  };

  return (
    <section>
      <p className="crumbs">
        <Link href="/">Sessions</Link> / <Link href={`/sessions/${sessionId}`} className="mono">{sessionId}</Link> / files
      </p>
      <div className="toolbar">
        <h1>Files {session && <StateBadge state={session.state} />}</h1>
        <span className="muted" data-testid="presence" data-pings={pings}>
          presence: {pings} ping{pings === 1 ? "" : "s"} while this page is visible and focused
        </span>
      </div>
      {error && <p className="error">{error}</p>}
      {session && session.state === "archived" && !wakeArchived ? (
        <div className="progress" data-testid="wake-confirm">
          <p>
            This session is archived: opening its files restores it from its latest checkpoint into a new sandbox. Its files can be looked at without
            waking it in the checkpoint browser on the <Link href={`/sessions/${sessionId}`}>session page</Link>.
          </p>
          <button type="button" onClick={() => setWakeArchived(true)}>
            Wake it and open the files
          </button>
        </div>
      ) : (
        session && !running && <p className="muted">The session is {session.state}; this page&apos;s presence wakes it.</p>
      )}
      <div className="editor">
        <ul className="filelist" data-testid="files">
          {(files ?? []).filter((f) => f.type === "file").map((f) => (
            <li key={f.path}>
              <button type="button" className={`link-dark ${open === f.path ? "active" : ""}`} onClick={() => setOpen(f.path)}>
                {f.path}
              </button>
              <span className="muted"> {bytes(f.size)}</span>
            </li>
          ))}
        </ul>
        <div>
          {open ? (
            <>
              <div className="toolbar">
                <span className="mono">{open}</span>
                <button type="button" onClick={save} disabled={!running}>
                  Save
                </button>
              </div>
              <textarea aria-label="File content" value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
            </>
          ) : (
            <p className="muted">Choose a file.</p>
          )}
          {status && <p data-testid="editor-status">{status}</p>}
        </div>
      </div>
    </section>
  );
}
