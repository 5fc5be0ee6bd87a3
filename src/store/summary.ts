/**
 * A session's checkpoint summary: what the dashboard shows beside a session (its latest committed
 * checkpoint, the bytes its committed checkpoints describe and take after deduplication), so that
 * a list of sessions costs one bounded read instead of one checkpoint list per session.
 *
 * Both stores compute it with `summarise` from the session's committed checkpoints: SQLite at read
 * time (one query for the whole list), Convex when a checkpoint commits or is deleted (kept in the
 * sessionStats table, convex/stats.ts).
 */
import type { CheckpointRecord, Session } from "../core/types";

export type CheckpointSummary = Pick<CheckpointRecord, "id" | "bytes" | "files" | "uploadedBytes" | "committedAt" | "label">;

export interface SessionSummary {
  sessionId: string;
  /** The session's latest checkpoint if committed, else its newest committed one. */
  latestCheckpoint: CheckpointSummary | null;
  storage: {
    /** What the latest checkpoint describes. */
    logicalBytes: number;
    /** The sum over committed checkpoints of the bytes each describes. */
    describedBytes: number;
    /** Uploaded after deduplication, over committed checkpoints. */
    storedBytes: number;
    checkpoints: number;
  };
}

type Row = Pick<CheckpointRecord, "id" | "status" | "bytes" | "files" | "uploadedBytes" | "committedAt" | "label" | "createdAt">;

/** From the session's checkpoints (any status, any order). */
export function summarise(session: Pick<Session, "id" | "latestCheckpointId">, checkpoints: Row[]): SessionSummary {
  const committed = checkpoints.filter((c) => c.status === "committed").sort((a, b) => b.createdAt - a.createdAt);
  const latest = committed.find((c) => c.id === session.latestCheckpointId) ?? committed[0] ?? null;
  return {
    sessionId: session.id,
    latestCheckpoint: latest && {
      id: latest.id, bytes: latest.bytes, files: latest.files, uploadedBytes: latest.uploadedBytes,
      committedAt: latest.committedAt, label: latest.label,
    },
    storage: {
      logicalBytes: latest?.bytes ?? 0,
      describedBytes: committed.reduce((sum, c) => sum + c.bytes, 0),
      storedBytes: committed.reduce((sum, c) => sum + c.uploadedBytes, 0),
      checkpoints: committed.length,
    },
  };
}
