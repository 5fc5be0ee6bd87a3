"use client";
/** The overview: sessions per state, storage and deduplication, hours and money saved, latencies, charts, warnings. */
import Link from "next/link";
import { SESSION_STATES } from "../../src/core/types";
import { useApiQuery } from "./api";
import { OverviewCharts } from "./OverviewCharts";
import { bytes, duration, shortId } from "./format";
import { StateBadge } from "./StateBadge";

export function OverviewView() {
  const { data, error } = useApiQuery(["overview"], (c, signal) => c.overview.get.query(undefined, { signal }), { intervalMs: 3000 });
  if (!data) return error ? <p className="error">{error}</p> : <p className="muted">Loading…</p>;
  const { storage, latencies } = data;
  const dedup = storage.storedBytes > 0 ? storage.describedBytes / storage.storedBytes : null;
  return (
    <section>
      <h1>Overview</h1>
      <div className="cards">
        <div className="card">
          <h3>Sessions</h3>
          <p className="big">{data.sessions}</p>
          <ul className="states" data-testid="states">
            {SESSION_STATES.filter((s) => data.sessionsByState[s]).map((s) => (
              <li key={s}>
                <Link href={`/?state=${s}`}>
                  <StateBadge state={s} />
                </Link>{" "}
                {data.sessionsByState[s]}
              </li>
            ))}
          </ul>
        </div>
        <div className="card">
          <h3>Storage</h3>
          <p className="big">{bytes(storage.storedBytes)}</p>
          <p className="muted">
            uploaded for {storage.checkpoints} checkpoints describing {bytes(storage.describedBytes)}
            {dedup !== null && dedup > 1 && ` (${dedup.toFixed(1)}× saved by deduplication)`}; latest checkpoints hold{" "}
            {bytes(storage.logicalBytes)}
          </p>
        </div>
        <div className="card">
          <h3>Saved by hibernation</h3>
          <p className="big">{data.hoursSaved < 1 ? duration(data.hoursSaved * 3600_000) : `${data.hoursSaved.toFixed(1)} h`}</p>
          <p className="muted">
            of sandbox running time · ${data.moneySaved.toFixed(2)} at ${data.pricePerHour}/h
          </p>
        </div>
        <div className="card">
          <h3>Latency</h3>
          <table className="plain">
            <thead>
              <tr>
                <th />
                <th className="num">p50</th>
                <th className="num">p95</th>
                <th className="num">runs</th>
              </tr>
            </thead>
            <tbody>
              {(["pause", "resume", "restore"] as const).map((k) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td className="num">{duration(latencies[k].p50)}</td>
                  <td className="num">{duration(latencies[k].p95)}</td>
                  <td className="num">{latencies[k].count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <OverviewCharts charts={data.charts} pricePerHour={data.pricePerHour} />
      <h2>Warnings</h2>
      {data.warnings.length === 0 ? (
        <p className="muted">Nothing needs attention.</p>
      ) : (
        <ul className="warnings" data-testid="warnings">
          {data.warnings.map((w, i) => (
            <li key={`${w.sessionId}-${i}`} className={`sev-${w.severity}`}>
              <Link href={`/sessions/${w.sessionId}`} className="mono">
                {shortId(w.sessionId)}
              </Link>{" "}
              {w.message}
            </li>
          ))}
        </ul>
      )}
      <p className="muted">Workflows run on the {data.engine} engine.</p>
    </section>
  );
}
