"use client";
/**
 * Every workflow run the caller may see, newest first, filtered by workflow, status, session and
 * time window (kept in the URL, so a filtered view can be shared or linked from a session). The
 * list comes without steps; the run being viewed is read with its steps and drawn as a waterfall.
 * List and run are one query, so the page sends one (batched) request per poll interval.
 */
import Link from "next/link";
import { useEffect, useState } from "react";
import { useApiQuery, useNow } from "./api";
import { duration, shortId, time } from "./format";
import { RunWaterfall } from "./RunWaterfall";

const STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
type Status = (typeof STATUSES)[number];
const WINDOWS = { "1h": 3600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000, all: null } as const;
type Window = keyof typeof WINDOWS;
const SESSION_ID = /^ses_[0-9a-z]{9,40}$/;

interface Filters {
  workflow: string;
  status: Status | "";
  session: string;
  window: Window;
  run: string;
}

const EMPTY: Filters = { workflow: "", status: "", session: "", window: "all", run: "" };

function readUrl(): Filters {
  const q = new URLSearchParams(window.location.search);
  const status = q.get("status") ?? "";
  const win = q.get("window") ?? "all";
  return {
    workflow: q.get("workflow") ?? "",
    status: (STATUSES as readonly string[]).includes(status) ? (status as Status) : "",
    session: q.get("session") ?? "",
    window: win in WINDOWS ? (win as Window) : "all",
    run: q.get("run") ?? "",
  };
}

function writeUrl(f: Filters): void {
  const url = new URL(window.location.href);
  for (const [k, v] of Object.entries(f)) {
    if (v && !(k === "window" && v === "all")) url.searchParams.set(k, v);
    else url.searchParams.delete(k);
  }
  window.history.replaceState(null, "", url.toString());
}

export function RunsPage() {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    setFilters(readUrl());
    setLoaded(true);
  }, []);
  const set = (patch: Partial<Filters>) => {
    const next = { ...filters, ...patch };
    setFilters(next);
    writeUrl(next);
  };
  const now = useNow();
  const sessionOk = filters.session === "" || SESSION_ID.test(filters.session);
  const { workflow, status, session, window: win, run } = filters;

  const { data, error } = useApiQuery(
    ["runs", "page", { workflow, status, session, win, run }],
    async (c, signal) => {
      const span = WINDOWS[win];
      const [list, detail] = await Promise.all([
        c.runs.search.query(
          {
            workflow: workflow || undefined,
            status: status || undefined,
            sessionId: session || undefined,
            // The window is measured when the read is made, so each poll moves with the clock.
            startedAfter: span === null ? undefined : Date.now() - span,
            limit: 100,
          },
          { signal },
        ),
        run ? c.runs.get.query({ runId: run }, { signal }) : Promise.resolve(null),
      ]);
      return { list, detail };
    },
    { intervalMs: 3000, enabled: loaded && sessionOk },
  );

  return (
    <section>
      <div className="toolbar">
        <h1>Runs</h1>
      </div>
      <div className="filters" data-testid="run-filters">
        <label>
          Workflow{" "}
          <select aria-label="Filter by workflow" value={workflow} onChange={(e) => set({ workflow: e.target.value })}>
            <option value="">all</option>
            {(data?.list.workflows ?? []).map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{" "}
          <select aria-label="Filter by status" value={status} onChange={(e) => set({ status: e.target.value as Status | "" })}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Session{" "}
          <input
            aria-label="Filter by session"
            className="mono"
            placeholder="ses_…"
            value={session}
            onChange={(e) => set({ session: e.target.value.trim() })}
            size={28}
          />
        </label>
        <label>
          Started{" "}
          <select aria-label="Filter by time" value={win} onChange={(e) => set({ window: e.target.value as Window })}>
            {Object.keys(WINDOWS).map((w) => (
              <option key={w} value={w}>
                {w === "all" ? "any time" : `last ${w}`}
              </option>
            ))}
          </select>
        </label>
        {!sessionOk && <span className="error">not a session id (ses_…)</span>}
      </div>
      {error && <p className="error">{error}</p>}
      <div className="runs-page">
        <div>
          {!data ? (
            <p className="muted">Loading…</p>
          ) : data.list.runs.length === 0 ? (
            <p className="muted">No runs match.</p>
          ) : (
            <table className="grid" data-testid="runs-table">
              <thead>
                <tr>
                  <th>Workflow</th>
                  <th>Outcome</th>
                  <th>Session</th>
                  <th>Started</th>
                  <th className="num">Took</th>
                </tr>
              </thead>
              <tbody>
                {data.list.runs.map((r) => (
                  <tr
                    key={r.id}
                    data-run={r.id}
                    data-outcome={r.outcome}
                    className={`clickable ${r.id === run ? "selected" : ""}`}
                    onClick={() => set({ run: r.id })}
                  >
                    <td>{r.workflow}</td>
                    <td>
                      <span className={`outcome outcome-${r.outcome}`} title={r.detail ?? undefined}>
                        {r.label}
                      </span>
                    </td>
                    <td>
                      {r.sessionId ? (
                        <Link href={`/sessions/${r.sessionId}`} className="mono" onClick={(e) => e.stopPropagation()}>
                          {shortId(r.sessionId)}
                        </Link>
                      ) : (
                        <span className="muted">–</span>
                      )}
                    </td>
                    <td>{time(r.startedAt)}</td>
                    <td className="num">{r.endedAt !== null ? duration(r.endedAt - r.startedAt) : "…"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {data?.list.nextBefore != null && <p className="muted">Showing the newest 100; narrow the filters to see older runs.</p>}
        </div>
        <div>{data?.detail ? <RunWaterfall run={data.detail} now={now} /> : <p className="muted">Select a run to see its steps.</p>}</div>
      </div>
    </section>
  );
}
