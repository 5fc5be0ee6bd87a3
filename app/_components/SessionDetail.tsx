"use client";
/**
 * One session: state and why it is awake or asleep (what woke it and what keeps it awake), how
 * long its oldest unsaved change has waited, when it archives, the actions (resume,
 * hibernate, snapshot, restore after a confirmation showing its diff) with their progress, its
 * history on one time axis, its settings, the checkpoint timeline with a browser for each
 * checkpoint's files, pending change rows and workflow runs. Polls the API; an action's progress
 * follows the run its request id started.
 */
import Link from "next/link";
import { useState } from "react";
import { useApi, useApiAction, useApiQuery, useNow } from "./api";
import { CheckpointBrowser, RestoreConfirm } from "./CheckpointBrowser";
import { CheckpointTimeline } from "./CheckpointTimeline";
import { isTransient } from "../../src/core/state-classes";
import { ago, bytes, duration, time } from "./format";
import { ActionProgress, RunsList } from "./RunsList";
import { SessionSettings } from "./SessionSettings";
import { SessionTimeline } from "./SessionTimeline";
import { StateBadge } from "./StateBadge";

interface Pending {
  label: string;
  requestId: string | null;
}

export function SessionDetail({ sessionId }: { sessionId: string }) {
  const { client } = useApi();
  const now = useNow();
  const [pending, setPending] = useState<Pending | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [restoreTarget, setRestoreTarget] = useState<string | null>(null);
  const [browsing, setBrowsing] = useState<string | null>(null);
  // The page's five reads in one tick: one batched request per interval.
  const { data, error } = useApiQuery(["session", sessionId, "page"], async (c, signal) => {
    const [session, checkpoints, runs, changes, timeline] = await Promise.all([
      c.sessions.get.query({ sessionId }, { signal }),
      c.checkpoints.list.query({ sessionId }, { signal }),
      c.runs.list.query({ sessionId, limit: 50 }, { signal }),
      c.files.pendingChanges.query({ sessionId, limit: 200 }, { signal }),
      c.timeline.get.query({ sessionId }, { signal }),
    ]);
    return { session, checkpoints, runs, changes, timeline };
  });
  // Every read of this session, the sessions list, the runs page and the overview change with an action.
  const action = useApiAction((_c, call: () => Promise<{ requestId: string | null }>) => call(), [
    ["session", sessionId],
    ["sessions"],
    ["runs"],
    ["overview"],
  ]);

  const act = (label: string, call: () => Promise<{ requestId: string | null }>) => {
    setActionError(null);
    setPending({ label, requestId: null });
    action.mutateAsync(call).then(
      // No request id: there was nothing to do (already running, already asleep).
      (r) => setPending(r.requestId === null ? null : { label, requestId: r.requestId }),
      (e: unknown) => (setPending(null), setActionError(e instanceof Error ? e.message : String(e))),
    );
  };

  if (!data) return error ? <p className="error">{error}</p> : <p className="muted">Loading…</p>;
  const { session, checkpoints, runs, changes, timeline } = data;
  const busy = isTransient(session.state) || session.lease !== null;
  // Not a state class: resuming and restoring are transient on the way up, so their reason is
  // the wake's; hibernating and archiving, on the way down, show the sleep's.
  const waking = session.state === "running" || session.state === "resuming" || session.state === "restoring";
  const reason = waking ? session.wakeReason : session.sleepReason;
  const { archive, lastError } = timeline;

  return (
    <section>
      <p className="crumbs">
        <Link href="/">Sessions</Link> / <span className="mono">{session.id}</span>
      </p>
      <div className="toolbar">
        <h1>
          Session <StateBadge state={session.state} />
        </h1>
        <div className="actions" data-testid="actions">
          <Link href={`/sessions/${sessionId}/files`} className="button-link">
            Files
          </Link>
          <button type="button" disabled={!client || busy || session.state === "running"} onClick={() => act("Resume", () => client!.sessions.resume.mutate({ sessionId }))}>
            Resume
          </button>
          <button type="button" disabled={!client || busy || session.state !== "running"} onClick={() => act("Hibernate", () => client!.sessions.hibernateNow.mutate({ sessionId }))}>
            Hibernate now
          </button>
          <button type="button" disabled={!client || busy || session.state !== "running"} onClick={() => act("Snapshot", () => client!.checkpoints.create.mutate({ sessionId, label: "dashboard" }))}>
            Snapshot
          </button>
          <button
            type="button"
            className="danger"
            disabled={!client || session.state === "deleted"}
            onClick={() => window.confirm(`Delete session ${sessionId}? Its sandbox is killed.`) && act("Delete", () => client!.sessions.delete.mutate({ sessionId }))}
          >
            Delete
          </button>
        </div>
      </div>
      {error && <p className="error">Last refresh failed: {error}</p>}
      {actionError && <p className="error" data-testid="action-error">{actionError}</p>}
      {pending && <ActionProgress label={pending.label} requestId={pending.requestId} runs={runs} />}

      <dl className="facts">
        <dt>Owner</dt>
        <dd>{session.ownerId}</dd>
        <dt>Provider</dt>
        <dd>
          {session.provider} · template {session.template} · sandbox <span className="mono">{session.sandboxId ?? "none"}</span>
        </dd>
        <dt>Last activity</dt>
        <dd>
          {ago(session.lastActivityAt, now)} ({session.lastActivityKind})
        </dd>
        <dt>Auto-hibernate</dt>
        <dd>
          {session.hibernatesAt !== null
            ? session.hibernatesAt > now
              ? `in ${duration(session.hibernatesAt - now)}`
              : "at the next sweep"
            : "–"}{" "}
          <span className="muted">(idle timeout {duration(session.idleTimeoutMs)})</span>
        </dd>
        <dt>{waking ? "Why awake" : "Why asleep"}</dt>
        <dd data-testid="reason">{reason ? `${reason.kind}: ${reason.detail} (${ago(reason.at, now)})` : "–"}</dd>
        {/* What keeps it awake now (its latest activity), beside what woke it (the lifecycle reason above). */}
        {session.state === "running" && session.awakeReason && (
          <>
            <dt>Kept awake by</dt>
            {/* The API's text starts "awake: " (it stands alone there); under this label that is said already. */}
            <dd data-testid="awake-reason">{session.awakeReason.replace(/^awake: /, "")}</dd>
          </>
        )}
        {/* The RPO's clock: how long the oldest change not yet in a checkpoint has waited. */}
        <dt>Unsaved</dt>
        <dd data-testid="unsaved">
          {session.unsavedSince == null ? (
            "every change is in a checkpoint"
          ) : (
            <span title={time(session.unsavedSince)}>unsaved for {duration(Math.max(0, now - session.unsavedSince))}</span>
          )}
        </dd>
        {archive && (
          <>
            <dt>{archive.at === null ? "Archived" : "Archives"}</dt>
            <dd data-testid="archive">
              {archive.at === null ? "" : archive.at > now ? `in ${duration(archive.at - now)} ` : "at the next sweep "}
              <span className="muted">({archive.reason})</span>
            </dd>
          </>
        )}
        <dt>Storage</dt>
        <dd>
          {bytes(session.storage.logicalBytes)} of files · {bytes(session.storage.storedBytes)} uploaded over {session.storage.checkpoints} checkpoints
        </dd>
        {session.lease && (
          <>
            <dt>Lease</dt>
            <dd>
              {session.lease.operation} until {time(session.lease.expiresAt)}
            </dd>
          </>
        )}
        {/* An error a later run's success made stale is not shown as the session's state. */}
        {lastError && !lastError.stale && (
          <>
            <dt>Last error</dt>
            <dd className="error" data-testid="last-error">
              {lastError.message}
              {lastError.at !== null && <span className="muted"> ({ago(lastError.at, now)})</span>}
            </dd>
          </>
        )}
      </dl>

      <h2>Timeline</h2>
      <SessionTimeline timeline={timeline} />

      {browsing && <CheckpointBrowser key={browsing} sessionId={sessionId} checkpointId={browsing} onClose={() => setBrowsing(null)} />}
      {restoreTarget && (
        <RestoreConfirm
          sessionId={sessionId}
          checkpointId={restoreTarget}
          onCancel={() => setRestoreTarget(null)}
          onConfirm={() => {
            const checkpointId = restoreTarget;
            setRestoreTarget(null);
            act("Restore", () => client!.checkpoints.restore.mutate({ sessionId, checkpointId }));
          }}
        />
      )}

      <div className="columns">
        <div>
          <h2>Checkpoints</h2>
          <CheckpointTimeline
            checkpoints={checkpoints}
            latestId={session.latestCheckpointId}
            busy={!client || busy || session.state === "deleted"}
            onRestore={setRestoreTarget}
            onBrowse={setBrowsing}
          />
          <h2>Pending changes ({changes.length})</h2>
          {changes.length === 0 ? (
            <p className="muted">None: every change is in a checkpoint.</p>
          ) : (
            <ul className="changes" data-testid="changes">
              {changes.map((c) => (
                <li key={c.id}>
                  <span className="tag">{c.operation}</span> <span className="mono">{c.path}</span>{" "}
                  <span className="muted">
                    {bytes(c.size)} · {ago(c.at, now)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <h2>Settings</h2>
          <SessionSettings session={session} hookTimeoutMs={session.hookTimeoutMs} disabled={!client || session.state === "deleted"} />
          <h2>Runs</h2>
          <RunsList runs={runs} />
        </div>
      </div>
    </section>
  );
}
