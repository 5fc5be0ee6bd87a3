/**
 * files: the editor's view of the workspace through Torpor. Writes go to the sandbox through its
 * provider and are recorded as change rows (what the next checkpoint must re-read) and as activity.
 * The session must be running: file access never wakes a sandbox behind the caller's back.
 */
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { torporErrorCode } from "../errors";
import { ownedSession, requireRunning } from "../access";
import { fileEncoding, MAX_WRITE_BYTES, sessionId, workspacePath } from "../inputs";
import { authedProcedure, router } from "../trpc";

export const filesRouter = router({
  list: authedProcedure
    .input(z.object({ sessionId, dir: workspacePath.optional() }))
    .query(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      requireRunning(session, "list files");
      const entries = await ctx.deps.sandboxes.scan(session.sandboxId!, input.dir);
      return entries.sort((a, b) => a.path.localeCompare(b.path));
    }),

  read: authedProcedure
    .input(z.object({ sessionId, path: workspacePath, encoding: fileEncoding }))
    .query(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      requireRunning(session, `read '${input.path}'`);
      const content = await ctx.deps.sandboxes.readFile(session.sandboxId!, input.path).catch((error: unknown) => {
        // SandboxError has no NOT_FOUND code; the providers say "No file '…'" for a missing path.
        if (torporErrorCode(error) === "PROVIDER" && /^No file /.test((error as Error).message)) {
          throw new TRPCError({ code: "NOT_FOUND", message: `No file '${input.path}' in session '${session.id}'`, cause: error });
        }
        throw error;
      });
      return { path: input.path, size: content.length, encoding: input.encoding, content: content.toString(input.encoding) };
    }),

  write: authedProcedure
    .input(
      z.object({
        sessionId,
        path: workspacePath,
        content: z.string().max(Math.ceil((MAX_WRITE_BYTES * 4) / 3) + 4),
        encoding: fileEncoding,
        mode: z.number().int().min(0).max(0o777).optional(), // permission bits only: setuid/setgid/sticky refused
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      requireRunning(session, `write '${input.path}'`);
      const bytes = Buffer.from(input.content, input.encoding);
      if (bytes.length > MAX_WRITE_BYTES) {
        throw new TRPCError({
          code: "PAYLOAD_TOO_LARGE",
          message: `'${input.path}' is ${bytes.length} bytes; files.write takes at most ${MAX_WRITE_BYTES}`,
        });
      }
      const { store, sandboxes, config } = ctx.deps;
      await sandboxes.writeFile(session.sandboxId!, input.path, bytes, input.mode);
      const at = ctx.now();
      await store.recordChanges(session.id, [{ path: input.path, operation: "write", size: bytes.length, at }]);
      await store.recordActivity(session.id, { at, kind: "file", coalesceMs: config.lifecycle.activityCoalesceMs });
      return { path: input.path, size: bytes.length };
    }),

  pendingChanges: authedProcedure
    .input(z.object({ sessionId, limit: z.number().int().min(1).max(1000).default(200) }))
    .query(async ({ ctx, input }) => {
      const session = await ownedSession(ctx, input.sessionId);
      return ctx.deps.store.listPendingChanges(session.id, input.limit);
    }),
});
