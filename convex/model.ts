/**
 * Session documents: conversion between Convex documents and src/core Session records, and the
 * load/save pair every session mutation uses. The document stores `sessionId` (Torpor's id) and
 * `idleAt` (last activity + idle timeout, for the idle index); the record has `id` and no idleAt.
 */
import { NotFoundError } from "../src/core/errors";
import { DEFAULT_ACTIVITY_POLICY } from "../src/core/session-policy";
import type { Session } from "../src/core/types";
import { idleAt } from "../src/store/rules";
import type { Doc } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";

export type SessionDoc = Doc<"sessions">;

export function sessionFromDoc(doc: SessionDoc): Session {
  const {
    _id, _creationTime, sessionId, idleAt: _idleAt, activity, flushIntervalMs, lastCpuCores, lastCpuWindowMs,
    unsavedSince, unsavedGlobalAt: _g, flushDueAt: _f, ...rest
  } = doc;
  return {
    id: sessionId,
    ...rest,
    activity: activity ?? DEFAULT_ACTIVITY_POLICY,
    flushIntervalMs: flushIntervalMs ?? null,
    lastCpuCores: lastCpuCores ?? null,
    lastCpuWindowMs: lastCpuWindowMs ?? null,
    unsavedSince: unsavedSince ?? null,
  };
}

/** `unsavedSince` comes from the document, never from the record: only change writes move it. */
export function sessionToFields(session: Session, unsavedSince: number | null = null): Omit<SessionDoc, "_id" | "_creationTime"> {
  const { id, unsavedSince: _fromRecord, ...rest } = session;
  return { sessionId: id, ...rest, idleAt: idleAt(session), ...unsavedFields(session, unsavedSince) };
}

/**
 * The flush step's index fields for a session whose oldest pending change is at `unsavedSince`:
 * on the deployment's interval (null) it is due at unsavedSince + that interval, which only the
 * query knows (by_state_unsavedGlobalAt); with its own interval at unsavedSince + it
 * (by_state_flushDueAt); with 0 (off) in neither index.
 */
export function unsavedFields(session: Pick<Session, "flushIntervalMs">, unsavedSince: number | null) {
  const own = session.flushIntervalMs;
  return {
    unsavedSince,
    unsavedGlobalAt: unsavedSince !== null && own === null ? unsavedSince : null,
    flushDueAt: unsavedSince !== null && own !== null && own > 0 ? unsavedSince + own : null,
  };
}

export async function findSessionDoc(ctx: QueryCtx, sessionId: string): Promise<SessionDoc | null> {
  return ctx.db
    .query("sessions")
    .withIndex("by_sessionId", (q) => q.eq("sessionId", sessionId))
    .unique();
}

export async function loadSessionDoc(ctx: QueryCtx, sessionId: string): Promise<SessionDoc> {
  const doc = await findSessionDoc(ctx, sessionId);
  if (!doc) throw new NotFoundError(`No session '${sessionId}'`, { details: { sessionId } });
  return doc;
}

/** Writes the whole record back (replace keeps the document's _id). */
export async function saveSession(ctx: MutationCtx, doc: SessionDoc, session: Session): Promise<Session> {
  await ctx.db.replace(doc._id, sessionToFields(session, doc.unsavedSince ?? null));
  return session;
}

/**
 * Loads a session, lets `decide` compute the record to write (or null for nothing to write), and
 * writes it: one mutation is one transaction, so the rules see and change the latest row.
 */
export async function mutateSession<T>(
  ctx: MutationCtx,
  sessionId: string,
  decide: (session: Session) => { write: Session | null; result: T },
): Promise<T> {
  const doc = await loadSessionDoc(ctx, sessionId);
  const { write, result } = decide(sessionFromDoc(doc));
  if (write !== null) await saveSession(ctx, doc, write);
  return result;
}
