/** Formatting for the dashboard: bytes, durations, times, and the colour of each session state. */
import type { SessionState } from "../../src/core/types";

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  if (abs < 3600_000) return `${Math.floor(abs / 60_000)}m ${Math.floor((abs % 60_000) / 1000)}s`;
  if (abs < 86_400_000) return `${Math.floor(abs / 3600_000)}h ${Math.floor((abs % 3600_000) / 60_000)}m`;
  return `${Math.floor(abs / 86_400_000)}d ${Math.floor((abs % 86_400_000) / 3600_000)}h`;
}

export function ago(at: number | null | undefined, now: number): string {
  if (!at) return "–";
  const ms = now - at;
  return ms < 1500 ? "just now" : `${duration(ms)} ago`;
}

export function time(at: number | null | undefined): string {
  if (!at) return "–";
  return new Date(at).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export const STATE_COLOURS: Record<SessionState, string> = {
  creating: "#6b7280",
  running: "#15803d",
  hibernating: "#b45309",
  paused: "#2563eb",
  archiving: "#7c3aed",
  archived: "#4338ca",
  resuming: "#0891b2",
  restoring: "#0891b2",
  failed: "#b91c1c",
  deleted: "#9ca3af",
};

export function shortId(id: string | null | undefined): string {
  if (!id) return "–";
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}
