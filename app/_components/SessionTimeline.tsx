"use client";
/**
 * A session's history on one time axis (timeline.get): four lanes of one SVG — awake / asleep /
 * archived periods (hover: the reason), checkpoints, runs (coloured by outcome) and activity (the
 * change rows per bucket and the last activity). Drawn by hand: it is bands and ticks on a time
 * scale, which a chart library's series model fits worse than a few rects.
 */
import { duration, STATE_COLOURS, time } from "./format";
import type { Outputs } from "./types";

type Timeline = Outputs["timeline"]["get"];

const W = 1000;
const LANE = 22;
const LABEL = 86;
const LANES = ["state", "checkpoints", "runs", "activity"] as const;
const PERIOD_COLOURS = { awake: STATE_COLOURS.running, asleep: STATE_COLOURS.paused, archived: STATE_COLOURS.archived };
const OUTCOME_COLOURS: Record<string, string> = { completed: "#15803d", aborted: "#b45309", skipped: "#9ca3af", failed: "#b91c1c", running: "#0891b2", queued: "#6b7280", cancelled: "#6b7280" };

export function SessionTimeline({ timeline }: { timeline: Timeline }) {
  const span = Math.max(1, timeline.to - timeline.from);
  const x = (at: number) => LABEL + ((Math.min(Math.max(at, timeline.from), timeline.to) - timeline.from) / span) * (W - LABEL - 4);
  const y = (lane: (typeof LANES)[number]) => 4 + LANES.indexOf(lane) * (LANE + 6);
  const height = y("activity") + LANE + 20;
  const maxChanges = Math.max(1, ...timeline.changes.map((c) => c.count));
  const bucket = timeline.changes.length > 1 ? timeline.changes[1]!.at - timeline.changes[0]!.at : 1000;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => timeline.from + f * span);

  return (
    <figure className="session-timeline" data-testid="session-timeline">
      <svg viewBox={`0 0 ${W} ${height}`} width="100%" role="img" aria-label="Session timeline">
        {LANES.map((lane) => (
          <text key={lane} x={0} y={y(lane) + 15} className="lane-label">
            {lane}
          </text>
        ))}
        {timeline.periods.map((p, i) => (
          <rect key={`p${i}`} data-period={p.kind} x={x(p.from)} y={y("state")} width={Math.max(1, x(p.to) - x(p.from))} height={LANE} fill={PERIOD_COLOURS[p.kind]} opacity={0.85}>
            <title>{`${p.kind} ${time(p.from)} – ${time(p.to)} (${duration(p.to - p.from)})${p.reason ? `: ${p.reason}` : ""}`}</title>
          </rect>
        ))}
        {timeline.checkpoints.map((c) => (
          <g key={c.id} data-checkpoint={c.id}>
            <line x1={x(c.at)} x2={x(c.at)} y1={y("checkpoints")} y2={y("checkpoints") + LANE} stroke="#1d4ed8" strokeWidth={2} />
            <circle cx={x(c.at)} cy={y("checkpoints") + LANE / 2} r={4} fill="#1d4ed8">
              <title>{`checkpoint ${c.id} (${c.kind}${c.label ? `, ${c.label}` : ""}) at ${time(c.at)}`}</title>
            </circle>
          </g>
        ))}
        {timeline.runs.map((r) => (
          <rect key={r.id} data-run={r.id} data-outcome={r.outcome} x={x(r.from)} y={y("runs") + 3} width={Math.max(3, x(r.to) - x(r.from))} height={LANE - 6} rx={2} fill={OUTCOME_COLOURS[r.outcome] ?? "#6b7280"}>
            <title>{`${r.workflow}: ${r.label}, ${time(r.from)} (${duration(r.to - r.from)})`}</title>
          </rect>
        ))}
        {timeline.changes.map((c) => (
          <rect key={c.at} data-changes={c.count} x={x(c.at)} y={y("activity") + LANE - (c.count / maxChanges) * LANE} width={Math.max(2, x(c.at + bucket) - x(c.at) - 1)} height={(c.count / maxChanges) * LANE} fill="#7c3aed" opacity={0.7}>
            <title>{`${c.count} change row${c.count === 1 ? "" : "s"} from ${time(c.at)}`}</title>
          </rect>
        ))}
        <path data-testid="last-activity" d={`M${x(timeline.lastActivity.at)},${y("activity")} l-5,-4 h10 z`} fill="#111827">
          <title>{`last activity (${timeline.lastActivity.kind}) at ${time(timeline.lastActivity.at)}`}</title>
        </path>
        <line x1={x(timeline.lastActivity.at)} x2={x(timeline.lastActivity.at)} y1={y("activity")} y2={y("activity") + LANE} stroke="#111827" strokeDasharray="2 2" />
        {ticks.map((t, i) => (
          <text key={i} x={x(t)} y={height - 4} className="tick" textAnchor={i === 0 ? "start" : i === ticks.length - 1 ? "end" : "middle"}>
            {new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: span < 3600_000 ? "2-digit" : undefined })}
          </text>
        ))}
      </svg>
      <figcaption className="muted">
        <span className="key" style={{ background: PERIOD_COLOURS.awake }} /> awake <span className="key" style={{ background: PERIOD_COLOURS.asleep }} /> asleep{" "}
        <span className="key" style={{ background: PERIOD_COLOURS.archived }} /> archived · {timeline.transitions.length} sleep/wake transitions, {timeline.checkpoints.length} checkpoints,{" "}
        {timeline.runs.length} runs over {duration(span)}; hover for reasons
      </figcaption>
      {timeline.transitions.length > 0 && (
        <ol className="transitions" data-testid="transitions">
          {timeline.transitions.slice(-6).reverse().map((t) => (
            <li key={t.runId} data-kind={t.kind}>
              <span className="tag">{t.kind}</span> {time(t.at)} <span className="muted">{t.reason ?? ""}</span>
            </li>
          ))}
        </ol>
      )}
    </figure>
  );
}
