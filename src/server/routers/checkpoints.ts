/**
 * checkpoints: list a session's checkpoints (newest first), take one now (label), restore the
 * session to a chosen committed checkpoint. Taking and restoring are workflows: these procedures
 * request them and return the request id; progress shows in runs.list.
 *
 * The browser's reads (files, readFile, diff) come straight from the object store
 * (../checkpoint-browser): they never wake a sandbox, and work on a paused or archived session.
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { CheckpointRecord, Session } from "../../core/types";
import type { ManifestEntry } from "../../core/workspace";
import { ownedSession, requireRunning } from "../access";
import { diffEntries, fileOf, MAX_BROWSE_BYTES, readCheckpointFile } from "../checkpoint-browser";
import type { Context } from "../context";
import { checkpointId, fileEncoding, sessionId, workspacePath } from "../inputs";
import { requestWork } from "../requests";
import { authedProcedure, router } from "../trpc";

/** Entries checkpoints.files returns at most (a listing, not an export). */
const MAX_LISTED = 10_000;

/** A committed checkpoint of `session`, or NOT_FOUND / PRECONDITION_FAILED as restore answers. */
async function committedCheckpoint(ctx: Context, session: Session, id: string): Promise<CheckpointRecord> {
  const checkpoint = await ctx.deps.store.getCheckpoint(id);
  if (checkpoint === null || checkpoint.sessionId !== session.id) {
    throw new TRPCError({ code: "NOT_FOUND", message: `No checkpoint '${id}' in session '${session.id}'` });
  }
  if (checkpoint.status !== "committed") {
    throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Checkpoint '${checkpoint.id}' is ${checkpoint.status}, not committed` });
  }
  return checkpoint;
}

const entriesOf = async (ctx: Context, id: string): Promise<ManifestEntry[]> => (await ctx.deps.checkpoints.readManifest(id)).entries;

export const checkpointsRouter = router({
  list: authedProcedure
    .input(z.object({ sessionId, includeDeleted: z.boolean().default(false) }))
    .query(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      return ctx.deps.store.listCheckpoints(session.id, { includeDeleted: input.includeDeleted });
    }),

  create: authedProcedure
    .input(z.object({ sessionId, label: z.string().trim().min(1).max(200).nullish() }))
    .mutation(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      requireRunning(session, "take a checkpoint");
      return requestWork(ctx.deps, "torpor/session.snapshot.requested", {
        sessionId: session.id,
        label: input.label ?? null,
      });
    }),

  restore: authedProcedure.input(z.object({ sessionId, checkpointId })).mutation(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    const checkpoint = await ctx.deps.store.getCheckpoint(input.checkpointId);
    if (checkpoint === null || checkpoint.sessionId !== session.id) {
      throw new TRPCError({
        code: "NOT_FOUND",
        message: `No checkpoint '${input.checkpointId}' in session '${session.id}'`,
      });
    }
    if (checkpoint.status !== "committed") {
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: `Checkpoint '${checkpoint.id}' is ${checkpoint.status}, not committed: it cannot be restored`,
      });
    }
    if (session.state === "deleted") {
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Session '${session.id}' is deleted` });
    }
    return requestWork(ctx.deps, "torpor/session.restore.requested", {
      sessionId: session.id,
      checkpointId: checkpoint.id,
    });
  }),

  /** A checkpoint's entries (paths, types, sizes), from its manifest: read-only, no sandbox. */
  files: authedProcedure.input(z.object({ sessionId, checkpointId })).query(async ({ ctx, input }) => {
    const session = await ownedSession(ctx, input.sessionId);
    const checkpoint = await committedCheckpoint(ctx, session, input.checkpointId);
    const entries = await entriesOf(ctx, checkpoint.id);
    return {
      checkpointId: checkpoint.id,
      parentId: checkpoint.parentId,
      total: entries.length,
      entries: entries.slice(0, MAX_LISTED).map(fileOf),
    };
  }),

  /** One file of a checkpoint, checked against its hash, up to MAX_BROWSE_BYTES: for viewing and download. */
  readFile: authedProcedure
    .input(z.object({ sessionId, checkpointId, path: workspacePath, encoding: fileEncoding }))
    .query(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      const checkpoint = await committedCheckpoint(ctx, session, input.checkpointId);
      const read = await readCheckpointFile(ctx.deps.objects, checkpoint.id, input.path);
      if (read.kind === "missing") throw new TRPCError({ code: "NOT_FOUND", message: `No file '${input.path}' in checkpoint '${checkpoint.id}'` });
      if (read.kind === "not-a-file") throw new TRPCError({ code: "BAD_REQUEST", message: `'${input.path}' is a ${read.entry.type} in checkpoint '${checkpoint.id}', not a file` });
      if (read.kind === "too-large") {
        throw new TRPCError({ code: "PAYLOAD_TOO_LARGE", message: `'${input.path}' is ${read.entry.size} bytes; checkpoints.readFile returns at most ${MAX_BROWSE_BYTES}` });
      }
      return { path: input.path, size: read.data.length, encoding: input.encoding, content: read.data.toString(input.encoding) };
    }),

  /**
   * What changed: against the checkpoint's parent (what this checkpoint added, changed, deleted),
   * or against the session's current files (what a restore to it would add, change, delete). The
   * current files are the running sandbox's scan, or, for a sleeping session, its latest checkpoint:
   * the diff never wakes anything.
   */
  diff: authedProcedure
    .input(z.object({ sessionId, checkpointId, against: z.enum(["parent", "current"]).default("parent") }))
    .query(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      const checkpoint = await committedCheckpoint(ctx, session, input.checkpointId);
      const entries = await entriesOf(ctx, checkpoint.id);
      if (input.against === "parent") {
        const parent = checkpoint.parentId === null ? null : await ctx.deps.store.getCheckpoint(checkpoint.parentId);
        const base = parent !== null && parent.status === "committed" ? await entriesOf(ctx, parent.id) : [];
        return { against: { kind: "checkpoint" as const, id: parent?.status === "committed" ? parent.id : null }, ...diffEntries(entries, base) };
      }
      if (session.state === "running" && session.sandboxId !== null) {
        const scan = await ctx.deps.sandboxes.scan(session.sandboxId);
        // From the current files to the checkpoint's: "added" is what the restore brings back.
        return { against: { kind: "workspace" as const, id: null }, ...diffEntries(entries, scan) };
      }
      const latest = session.latestCheckpointId;
      const base = latest === null ? [] : await entriesOf(ctx, latest);
      return { against: { kind: "checkpoint" as const, id: latest }, ...diffEntries(entries, base) };
    }),
});
