"use client";
/**
 * The overview's charts, drawn with Recharts (SVG, React components, no canvas or network: it
 * renders offline and in tests): the fleet by state, sandbox-hours saved per day with their price,
 * and how long pauses, resumes and restores took.
 */
import { Bar, BarChart, CartesianGrid, Cell, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { STATE_COLOURS } from "./format";
import type { OverviewData } from "./types";

type Charts = OverviewData["charts"];

const KIND_COLOURS = { pause: "#2563eb", resume: "#15803d", restore: "#7c3aed" } as const;

function ChartCard({ title, testId, children }: { title: string; testId: string; children: React.ReactElement }) {
  return (
    <div className="card chart" data-testid={testId}>
      <h3>{title}</h3>
      <ResponsiveContainer width="100%" height={220}>
        {children}
      </ResponsiveContainer>
    </div>
  );
}

export function OverviewCharts({ charts, pricePerHour }: { charts: Charts; pricePerHour: number }) {
  const days = charts.savedPerDay.map((d) => ({ ...d, label: d.day.slice(5), hours: Math.round(d.hours * 100) / 100 }));
  return (
    <div className="charts">
      <ChartCard title="Fleet by state" testId="chart-fleet">
        <BarChart data={charts.fleet} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="state" tick={{ fontSize: 11 }} interval={0} angle={-30} textAnchor="end" height={50} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
          <Tooltip />
          <Bar dataKey="sessions" isAnimationActive={false}>
            {charts.fleet.map((f) => (
              <Cell key={f.state} fill={STATE_COLOURS[f.state]} />
            ))}
          </Bar>
        </BarChart>
      </ChartCard>
      <ChartCard title={`Sandbox-hours saved per day (at $${pricePerHour}/h)`} testId="chart-saved">
        <BarChart data={days} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} />
          <YAxis tick={{ fontSize: 11 }} />
          <Tooltip formatter={(value, _name, item) => [`${String(value)} h · $${(item.payload as { money: number }).money.toFixed(2)}`, "saved"]} />
          <Bar dataKey="hours" fill="#2563eb" isAnimationActive={false} />
        </BarChart>
      </ChartCard>
      <ChartCard title="Latency distribution (runs)" testId="chart-latency">
        <BarChart data={charts.latency} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="bucket" tick={{ fontSize: 10 }} interval={0} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {(["pause", "resume", "restore"] as const).map((k) => (
            <Bar key={k} dataKey={k} fill={KIND_COLOURS[k]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ChartCard>
    </div>
  );
}
