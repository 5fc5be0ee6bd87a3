"use client";
/**
 * The sessions table: state, owner, provider, last activity, countdown to auto-hibernate, how long
 * changes have been unsaved, storage, latest checkpoint; filtered by state (kept in the URL's
 * ?state= so a filtered view can be shared).
 */
import Link from "next/link";
import { useEffect, useState } from "react";
import { SESSION_STATES, type SessionState } from "../../src/core/types";
import { useApiQuery, useNow } from "./api";
import { ago, bytes, duration, time } from "./format";
import { StateBadge } from "./StateBadge";
import type { SessionRow } from "./types";

function Countdown({ session, now }: { session: SessionRow; now: number }) {
  if (session.hibernatesAt === null) return <span className="muted">–</span>;
  const left = session.hibernatesAt - now;
  return <span className={left < 60_000 ? "warn" : undefined}>{left > 0 ? duration(left) : "at next sweep"}</span>;
}

/** The RPO's clock per row, from the row's stored oldest unsaved change (no read per row). */
function Unsaved({ session, now }: { session: SessionRow; now: number }) {
  if (session.state !== "running" || session.unsavedSince == null) return <span className="muted">–</span>;
  return <span title={time(session.unsavedSince)}>unsaved {duration(Math.max(0, now - session.unsavedSince))}</span>;
}

export function SessionsTable() {
  const [state, setState] = useState<SessionState | "">("");
  useEffect(() => {
    const s = new URLSearchParams(window.location.search).get("state");
    if (s && (SESSION_STATES as readonly string[]).includes(s)) setState(s as SessionState);
  }, []);
  const chooseState = (next: SessionState | "") => {
    setState(next);
    const url = new URL(window.location.href);
    if (next) url.searchParams.set("state", next);
    else url.searchParams.delete("state");
    window.history.replaceState(null, "", url.toString());
  };
  const now = useNow();
  const { data, error } = useApiQuery(["sessions", "list", state], (c, signal) =>
    c.sessions.list.query(state ? { state, limit: 500 } : { limit: 500 }, { signal }),
  );

  return (
    <section>
      <div className="toolbar">
        <h1>Sessions</h1>
        <label>
          State{" "}
          <select value={state} onChange={(e) => chooseState(e.target.value as SessionState | "")} aria-label="Filter by state">
            <option value="">all</option>
            {SESSION_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && <p className="error">{error}</p>}
      {data === undefined && !error && <p className="muted">Loading…</p>}
      {data !== undefined && data.length === 0 && <p className="muted">No sessions{state ? ` in state ${state}` : ""}.</p>}
      {data !== undefined && data.length > 0 && (
        <table className="grid" data-testid="sessions-table">
          <thead>
            <tr>
              <th>Session</th>
              <th>State</th>
              <th>Owner</th>
              <th>Provider</th>
              <th>Last activity</th>
              <th>Auto-hibernate in</th>
              <th>Unsaved</th>
              <th className="num">Storage</th>
              <th>Latest checkpoint</th>
            </tr>
          </thead>
          <tbody>
            {data.map((s) => (
              <tr key={s.id} data-session={s.id} data-state={s.state}>
                <td>
                  <Link href={`/sessions/${s.id}`} className="mono">
                    {s.id}
                  </Link>
                </td>
                <td>
                  <StateBadge state={s.state} />
                </td>
                <td>{s.ownerId}</td>
                <td>{s.provider}</td>
                <td title={s.lastActivityKind}>{ago(s.lastActivityAt, now)}</td>
                <td>
                  <Countdown session={s} now={now} />
                </td>
                <td data-testid="unsaved-cell">
                  <Unsaved session={s} now={now} />
                </td>
                <td className="num" title={`${bytes(s.storage.logicalBytes)} of files, ${bytes(s.storage.storedBytes)} uploaded`}>
                  {bytes(s.storage.storedBytes)}
                </td>
                <td>
                  {s.latestCheckpoint ? (
                    <span>
                      {ago(s.latestCheckpoint.committedAt, now)} · {s.latestCheckpoint.files} files · {bytes(s.latestCheckpoint.bytes)}
                    </span>
                  ) : (
                    <span className="muted">none yet</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
