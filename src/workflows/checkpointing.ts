/**
 * The two checkpoint steps every workflow that saves files uses.
 *
 * - flushAndSnapshot (under the caller's lease, kept alive while it runs): reads the pending
 *   change rows up to a cut-off time, then takes an incremental checkpoint on the session's latest
 *   one with a full stat scan, so that a change nobody reported is still caught; a flush asks for
 *   `changedPathsOnly`, a scan of the listed paths' folders on the parent manifest
 *   (./changed-paths-scan), and its cut-off then leaves pending the rows the change feed may still
 *   be writing (LATE_ROW_SLACK_MS). Its progress goes
 *   to the run's row (./progress). Content addressing makes a retry cheap and harmless: objects
 *   already uploaded are not uploaded again, and a half-written checkpoint is never committed.
 *   No empty checkpoints: when the sandbox still holds exactly what the latest checkpoint holds
 *   (stat scan against its manifest, and no file of it modified while that checkpoint read it),
 *   that checkpoint is returned (`reused`) and nothing is written; committing it again only marks
 *   the change rows flushed.
 * - commitSnapshot: checkpoint row created and committed (this points the session's latest
 *   checkpoint at it), then the change rows up to the cut-off marked flushed. Idempotent.
 * - compareWithCheckpoint: a stat scan of the sandbox against a checkpoint's manifest, for the
 *   steps that must know the sandbox holds nothing newer (change rows miss what the sandbox's own
 *   processes write). On a frozen local sandbox of 22k files it costs about 0.1-0.3 s.
 */
import { compareScan, type ScanComparison } from "../checkpoint/engine/compare";
import type { CheckpointSummary } from "../checkpoint/types";
import type { CheckpointKind } from "../core/types";
import type { ManifestEntry, ScanEntry, WorkspaceSource } from "../core/workspace";
import { sandboxWorkspace } from "../sandbox";
import { scanChangedPaths } from "./changed-paths-scan";
import { keepLease } from "./lease";
import { withRunProgress } from "./progress";
import type { WorkflowDeps } from "./types";

export interface TakenSnapshot {
  checkpointId: string;
  parentId: string | null;
  /** Change rows recorded at or before this time are covered by the checkpoint. */
  upTo: number;
  files: number;
  bytes: number;
  uploadedBytes: number;
  reusedFiles: number;
  skipped: number;
  /** The parent itself: nothing changed since it, so no checkpoint was written. */
  reused?: boolean;
}

/** The snapshot's racy-stat window (src/checkpoint/engine/snapshot.ts): coarse timestamps hide a write this close to a read. */
const RACY_WINDOW_MS = 2000;
/** When the run that took a checkpoint is unknown (pruned, the CLI), its read is assumed to have started this long before its manifest. */
const UNKNOWN_READ_MS = 10 * 60_000;
/**
 * The change feed stamps a row with its event's time and writes it when the event's coalescing
 * window closes (TORPOR_CHANGE_COALESCE_MS later, plus the store's own delay). A checkpoint of the
 * listed paths only covers rows it listed, so its cut-off stays a window plus this slack before
 * the listing: a row stamped earlier is assumed written by then. Later rows stay pending (covered
 * or not, the next flush takes them).
 */
const LATE_ROW_SLACK_MS = 5000;

type ReadManifest = { entries: ManifestEntry[]; summary: CheckpointSummary };

/**
 * The latest checkpoint as a TakenSnapshot when the sandbox holds exactly what it holds, else null.
 * Same stat as the manifest is not enough for a file modified while that checkpoint read it (a
 * write in the same timestamp tick as the read keeps size and mtime): such a file is "racy" and a
 * real checkpoint is taken, which hashes it again.
 */
async function unchangedSince(
  deps: WorkflowDeps,
  sandboxId: string,
  checkpointId: string,
  upTo: number,
  /** Scan only these paths' folders (a flush); null: the whole workspace. */
  listed: string[] | null,
): Promise<{ same: TakenSnapshot | null; scan: ScanEntry[]; manifest: ReadManifest; partial: boolean }> {
  const [fullScan, manifest, record] = await Promise.all([
    listed ? null : deps.sandboxes.scan(sandboxId),
    deps.checkpoints.readManifest(checkpointId),
    deps.store.getCheckpoint(checkpointId),
  ]);
  const partialScan = listed ? await scanChangedPaths(deps.sandboxes, sandboxId, manifest.entries, listed) : null;
  const scan = fullScan ?? partialScan ?? (await deps.sandboxes.scan(sandboxId));
  const changed = { same: null, scan, manifest, partial: partialScan !== null };
  if (record?.status !== "committed") return changed;
  if (!compareScan(scan, manifest.entries, deps.config.checkpoint.ignore, 0).same) return changed;
  const runId = manifest.summary.meta.runId;
  const run = runId ? await deps.store.getRun(runId) : null;
  const readFrom = (run?.startedAt ?? manifest.summary.createdAt - UNKNOWN_READ_MS) - RACY_WINDOW_MS;
  if (manifest.entries.some((e) => e.type === "file" && e.mtimeMs >= readFrom)) return changed;
  return { ...changed, same: {
    checkpointId,
    parentId: record.parentId,
    upTo,
    files: record.files,
    bytes: record.bytes,
    uploadedBytes: 0,
    reusedFiles: record.files,
    skipped: 0,
    reused: true,
  } };
}

export async function flushAndSnapshot(
  deps: WorkflowDeps,
  input: {
    sessionId: string;
    sandboxId: string;
    parentId: string | null;
    runId: string;
    kind: CheckpointKind;
    /** The id of the step this runs in (namedStep hands it over), named in the run's progress. */
    stepName: string;
    /** Store every file again, trusting no stored object (a healing checkpoint: see archive-healing). */
    rewrite?: boolean;
    /**
     * Stat only the folders of the pending rows' paths, on the parent manifest (a flush: the
     * change rows are trusted to name every change; ./changed-paths-scan). Falls back to the full
     * scan when it cannot (no parent, too many paths, a top-level path).
     */
    changedPathsOnly?: boolean;
  },
): Promise<TakenSnapshot> {
  const upTo = deps.now();
  const pendingPaths = async () => {
    const pending = await deps.store.listPendingChanges(input.sessionId);
    return [...new Set(pending.filter((c) => c.at <= upTo).map((c) => c.path))];
  };
  const listedAt = deps.now();
  const listed = input.changedPathsOnly && input.parentId && !input.rewrite ? await pendingPaths() : null;
  let source: WorkspaceSource = sandboxWorkspace(deps.sandboxes, input.sandboxId);
  let parentManifest: ReadManifest | undefined;
  let cutOff = upTo;
  if (input.parentId && !input.rewrite) {
    const check = await unchangedSince(deps, input.sandboxId, input.parentId, upTo, listed);
    if (check.partial) cutOff = Math.min(upTo, listedAt - deps.config.lifecycle.changeCoalesceMs - LATE_ROW_SLACK_MS);
    if (check.same) return { ...check.same, upTo: check.partial ? await listedOnlyUpTo(deps, input.sessionId, listed!, cutOff) : cutOff };
    // The snapshot's stat scan is this one (taken after upTo, as its own would be): a second
    // full scan of the workspace was a third of a 1-file flush (change-feed bench). The parent's
    // manifest too (0.1 s of it on the bench workspace).
    source = withFirstScan(source, check.scan);
    parentManifest = check.manifest;
  }
  const changedPaths = listed ?? (await pendingPaths());
  const result = await withRunProgress(deps, input.runId, input.stepName, (onProgress) =>
    keepLease(deps, input.sessionId, input.runId, () =>
      deps.checkpoints.snapshot(source, {
        parent: input.parentId ?? undefined,
        ...(parentManifest ? { parentManifest } : {}),
        changedPaths: input.parentId ? changedPaths : undefined,
        fullScan: true,
        ...(input.rewrite ? { rewrite: true } : {}),
        meta: { sessionId: input.sessionId, runId: input.runId, kind: input.kind },
        onProgress,
      }),
    ),
  );
  if (cutOff < upTo) cutOff = await listedOnlyUpTo(deps, input.sessionId, listed!, cutOff);
  return {
    checkpointId: result.checkpoint,
    parentId: result.parent,
    upTo: cutOff,
    files: result.files,
    bytes: result.bytes,
    uploadedBytes: result.uploadedBytes,
    reusedFiles: result.reusedFiles,
    skipped: result.skipped.length,
  };
}

/**
 * `cutOff`, or just before the oldest pending row at or before it whose path was not listed (one
 * written since the listing, later than LATE_ROW_SLACK_MS assumed): a checkpoint of the listed
 * paths must not mark it flushed.
 */
async function listedOnlyUpTo(deps: WorkflowDeps, sessionId: string, listed: string[], cutOff: number): Promise<number> {
  const known = new Set(listed);
  const unlisted = (await deps.store.listPendingChanges(sessionId)).filter((c) => c.at <= cutOff && !known.has(c.path));
  return unlisted.length === 0 ? cutOff : Math.min(...unlisted.map((c) => c.at)) - 1;
}

export async function commitSnapshot(
  deps: WorkflowDeps,
  sessionId: string,
  taken: TakenSnapshot,
  kind: CheckpointKind,
  label: string | null = null,
): Promise<{ checkpointId: string; flushedChanges: number }> {
  const { store } = deps;
  const existing = await store.getCheckpoint(taken.checkpointId);
  if (!existing) {
    await store.createCheckpoint({
      id: taken.checkpointId,
      sessionId,
      parentId: taken.parentId,
      kind,
      label,
      now: deps.now(),
    });
  }
  if (existing?.status !== "committed") {
    await store.commitCheckpoint(
      taken.checkpointId,
      { files: taken.files, bytes: taken.bytes, uploadedBytes: taken.uploadedBytes },
      deps.now(),
    );
  }
  const flushedChanges = await store.markChangesFlushed(sessionId, taken.checkpointId, taken.upTo);
  return { checkpointId: taken.checkpointId, flushedChanges };
}

/**
 * Whether anything happened on the session after `since`: a ping, or a change row not yet flushed.
 * `covered`: the checkpoint just committed. A change row stamped at or before its cut-off that
 * arrived after the commit (the change feed writes a window late) describes a write the
 * checkpoint's scan, which came after the cut-off, already saw: it is marked flushed, not activity.
 */
export async function activitySince(
  deps: WorkflowDeps,
  sessionId: string,
  since: number,
  covered?: { checkpointId: string; upTo: number },
): Promise<{ active: boolean; detail: string }> {
  if (covered) await deps.store.markChangesFlushed(sessionId, covered.checkpointId, covered.upTo, deps.now());
  const session = await deps.store.getSession(sessionId);
  if (session.lastActivityAt > since) {
    return {
      active: true,
      detail: `${session.lastActivityKind} activity at ${new Date(session.lastActivityAt).toISOString()}`,
    };
  }
  const pending = await deps.store.listPendingChanges(sessionId, 1);
  if (pending.length > 0) return { active: true, detail: `file change to '${pending[0]!.path}' not yet checkpointed` };
  return { active: false, detail: "no activity" };
}

/** Does the sandbox hold exactly what the checkpoint holds (type, mode, size, mtime, target)? */
export async function compareWithCheckpoint(deps: WorkflowDeps, sandboxId: string, checkpointId: string): Promise<ScanComparison> {
  const [scan, manifest] = await Promise.all([deps.sandboxes.scan(sandboxId), deps.checkpoints.readManifest(checkpointId)]);
  return compareScan(scan, manifest.entries, deps.config.checkpoint.ignore);
}

/** `source` whose first scan() answers `scan` (already taken); later ones scan again. */
function withFirstScan<S extends WorkspaceSource>(source: S, scan: ScanEntry[]): S {
  let first: ScanEntry[] | null = scan;
  return {
    ...source,
    scan: () => {
      const taken = first;
      first = null;
      return taken ? Promise.resolve(taken) : source.scan();
    },
  };
}
