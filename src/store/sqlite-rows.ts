/**
 * Mapping between SQLite rows (snake_case columns, JSON text for nested values) and the domain
 * records of src/core/types. Nothing here touches the database.
 */
import type {
  ActivityKind,
  ActivityPolicy,
  ChangeRecord,
  CheckpointRecord,
  LifecycleReason,
  Operation,
  ProviderKind,
  RunProgress,
  RunRecord,
  Session,
  SessionState,
  StepRecord,
} from "../core/types";
import { idleAt } from "./rules";

export interface SessionRow {
  id: string;
  owner_id: string;
  provider: string;
  sandbox_id: string | null;
  template: string;
  state: string;
  last_activity_at: number;
  last_activity_kind: string;
  last_cpu_cores: number | null;
  last_cpu_window_ms: number | null;
  idle_timeout_ms: number;
  idle_at: number;
  activity: string;
  flush_interval_ms: number | null;
  paused_at: number | null;
  archived_at: number | null;
  latest_checkpoint_id: string | null;
  /** Read only: recordChanges and markChangesFlushed keep it (not in SESSION_COLUMNS, so a session write never overwrites it). */
  unsaved_since?: number | null;
  lease_holder: string | null;
  lease_operation: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  hooks: string;
  retention: string;
  sleep_reason: string | null;
  wake_reason: string | null;
  created_at: number;
  updated_at: number;
}

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export function sessionFromRow(row: SessionRow): Session {
  return {
    id: row.id,
    ownerId: row.owner_id,
    provider: row.provider as ProviderKind,
    sandboxId: row.sandbox_id,
    template: row.template,
    state: row.state as SessionState,
    lastActivityAt: row.last_activity_at,
    lastActivityKind: row.last_activity_kind as ActivityKind,
    lastCpuCores: row.last_cpu_cores,
    lastCpuWindowMs: row.last_cpu_window_ms,
    idleTimeoutMs: row.idle_timeout_ms,
    activity: row.activity as ActivityPolicy,
    flushIntervalMs: row.flush_interval_ms,
    pausedAt: row.paused_at,
    archivedAt: row.archived_at,
    latestCheckpointId: row.latest_checkpoint_id,
    unsavedSince: row.unsaved_since ?? null,
    lease:
      row.lease_holder === null
        ? null
        : { holder: row.lease_holder, operation: row.lease_operation as Operation, expiresAt: row.lease_expires_at ?? 0 },
    lastError: row.last_error,
    hooks: JSON.parse(row.hooks) as Session["hooks"],
    retention: JSON.parse(row.retention) as Session["retention"],
    sleepReason: json<LifecycleReason>(row.sleep_reason),
    wakeReason: json<LifecycleReason>(row.wake_reason),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function sessionToRow(s: Session): SessionRow {
  return {
    id: s.id,
    owner_id: s.ownerId,
    provider: s.provider,
    sandbox_id: s.sandboxId,
    template: s.template,
    state: s.state,
    last_activity_at: s.lastActivityAt,
    last_activity_kind: s.lastActivityKind,
    last_cpu_cores: s.lastCpuCores,
    last_cpu_window_ms: s.lastCpuWindowMs,
    idle_timeout_ms: s.idleTimeoutMs,
    idle_at: idleAt(s),
    activity: s.activity,
    flush_interval_ms: s.flushIntervalMs,
    paused_at: s.pausedAt,
    archived_at: s.archivedAt,
    latest_checkpoint_id: s.latestCheckpointId,
    lease_holder: s.lease?.holder ?? null,
    lease_operation: s.lease?.operation ?? null,
    lease_expires_at: s.lease?.expiresAt ?? null,
    last_error: s.lastError,
    hooks: JSON.stringify(s.hooks),
    retention: JSON.stringify(s.retention),
    sleep_reason: s.sleepReason === null ? null : JSON.stringify(s.sleepReason),
    wake_reason: s.wakeReason === null ? null : JSON.stringify(s.wakeReason),
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

/** Column order for INSERT OR REPLACE of a whole session row. */
export const SESSION_COLUMNS: readonly (keyof SessionRow)[] = [
  "id", "owner_id", "provider", "sandbox_id", "template", "state", "last_activity_at",
  "last_activity_kind", "idle_timeout_ms", "idle_at", "paused_at", "archived_at",
  "latest_checkpoint_id", "lease_holder", "lease_operation", "lease_expires_at", "last_error",
  "hooks", "retention", "sleep_reason", "wake_reason", "created_at", "updated_at",
  "activity", "flush_interval_ms", "last_cpu_cores", "last_cpu_window_ms",
];

export interface CheckpointRow {
  id: string;
  session_id: string;
  parent_id: string | null;
  kind: string;
  label: string | null;
  status: string;
  pinned: number;
  files: number;
  bytes: number;
  uploaded_bytes: number;
  created_at: number;
  committed_at: number | null;
  deleted_at: number | null;
}

export function checkpointFromRow(r: CheckpointRow): CheckpointRecord {
  return {
    id: r.id,
    sessionId: r.session_id,
    parentId: r.parent_id,
    kind: r.kind as CheckpointRecord["kind"],
    label: r.label,
    status: r.status as CheckpointRecord["status"],
    pinned: r.pinned === 1,
    files: r.files,
    bytes: r.bytes,
    uploadedBytes: r.uploaded_bytes,
    createdAt: r.created_at,
    committedAt: r.committed_at,
    deletedAt: r.deleted_at,
  };
}

export interface ChangeRow {
  id: string;
  session_id: string;
  path: string;
  operation: string;
  size: number | null;
  at: number;
  checkpoint_id: string | null;
}

export function changeFromRow(r: ChangeRow): ChangeRecord {
  return {
    id: r.id,
    sessionId: r.session_id,
    path: r.path,
    operation: r.operation as ChangeRecord["operation"],
    size: r.size,
    at: r.at,
    checkpointId: r.checkpoint_id,
  };
}

export interface RunRow {
  id: string;
  workflow: string;
  session_id: string | null;
  status: string;
  input: string;
  result: string | null;
  error: string | null;
  external_id: string | null;
  started_at: number;
  ended_at: number | null;
  updated_at: number;
  progress: string | null;
}

export interface StepRow {
  name: string;
  status: string;
  attempts: number;
  started_at: number;
  ended_at: number | null;
  error: string | null;
  output: string | null;
}

export function stepFromRow(r: StepRow): StepRecord {
  return {
    name: r.name,
    status: r.status as StepRecord["status"],
    attempts: r.attempts,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    error: r.error,
    output: r.output,
  };
}

export function runFromRow(r: RunRow, steps: StepRecord[]): RunRecord {
  return {
    id: r.id,
    workflow: r.workflow,
    sessionId: r.session_id,
    status: r.status as RunRecord["status"],
    input: r.input,
    steps,
    result: r.result,
    error: r.error,
    externalId: r.external_id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    updatedAt: r.updated_at,
    progress: r.progress === null ? null : (JSON.parse(r.progress) as RunProgress),
  };
}
