/**
 * What the API returns for a session: the row plus what the dashboard shows beside it (its latest
 * committed checkpoint, the storage its checkpoints take, the auto-hibernate deadline). Computed
 * from the store on each read; the store is the only source of truth.
 */
import type { CheckpointRecord, Session } from "../core/types";
import type { StateStore } from "../store/types";

export interface SessionView extends Session {
  /** When the idle sweep will hibernate it (running sessions only). */
  hibernatesAt: number | null;
  latestCheckpoint: Pick<CheckpointRecord, "id" | "bytes" | "files" | "uploadedBytes" | "committedAt" | "label"> | null;
  /** Bytes the session's committed checkpoints describe (logical) and uploaded (after deduplication). */
  storage: { logicalBytes: number; storedBytes: number; checkpoints: number };
}

export function hibernatesAt(session: Session): number | null {
  return session.state === "running" ? session.lastActivityAt + session.idleTimeoutMs : null;
}

export async function sessionView(store: StateStore, session: Session): Promise<SessionView> {
  const checkpoints = (await store.listCheckpoints(session.id)).filter((c) => c.status === "committed");
  const latest = checkpoints.find((c) => c.id === session.latestCheckpointId) ?? checkpoints[0] ?? null;
  return {
    ...session,
    hibernatesAt: hibernatesAt(session),
    latestCheckpoint: latest && {
      id: latest.id,
      bytes: latest.bytes,
      files: latest.files,
      uploadedBytes: latest.uploadedBytes,
      committedAt: latest.committedAt,
      label: latest.label,
    },
    storage: {
      logicalBytes: latest?.bytes ?? 0,
      storedBytes: checkpoints.reduce((sum, c) => sum + c.uploadedBytes, 0),
      checkpoints: checkpoints.length,
    },
  };
}
