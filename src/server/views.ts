/**
 * What the API returns for a session: the row plus what the dashboard shows beside it (its latest
 * committed checkpoint, the storage its checkpoints take, the auto-hibernate deadline). Computed
 * from the store's session summary (src/store/summary) on each read; the store is the only source
 * of truth.
 */
import { hibernatesAt } from "../core/deadlines";
import type { CheckpointRecord, Session } from "../core/types";
import type { SessionSummary } from "../store/summary";
import type { StateStore } from "../store/types";
import { awakeView, type AwakeView } from "./awake";

export interface SessionView extends Session {
  /** When the idle sweep will hibernate it (running sessions only). */
  hibernatesAt: number | null;
  latestCheckpoint: Pick<CheckpointRecord, "id" | "bytes" | "files" | "uploadedBytes" | "committedAt" | "label"> | null;
  /** Bytes the session's committed checkpoints describe (logical) and uploaded (after deduplication). */
  storage: { logicalBytes: number; storedBytes: number; checkpoints: number };
  /**
   * The oldest unsaved change's time: lists carry the row's stored value (Session.unsavedSince),
   * the one-session view the pending-change read (./awake), with why it is awake.
   */
  unsavedSince?: AwakeView["unsavedSince"];
  awakeReason?: AwakeView["awakeReason"];
}

/** `idleCpuThreshold` (TORPOR_IDLE_CPU_THRESHOLD): named beside a CPU figure in the awake reason. */
export async function sessionView(store: StateStore, session: Session, idleCpuThreshold: number | null = null): Promise<SessionView> {
  const [[summary], awake] = await Promise.all([
    store.sessionSummaries([session]),
    awakeView(store, session, Date.now(), idleCpuThreshold),
  ]);
  return { ...sessionViewOf(session, summary!), ...awake };
}

/** The view from the session and its summary (one summary read serves a whole list). */
export function sessionViewOf(session: Session, summary: SessionSummary): SessionView {
  const { logicalBytes, storedBytes, checkpoints } = summary.storage;
  return {
    ...session,
    hibernatesAt: hibernatesAt(session),
    latestCheckpoint: summary.latestCheckpoint,
    storage: { logicalBytes, storedBytes, checkpoints },
  };
}
