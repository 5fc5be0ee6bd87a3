/**
 * Creating a session: the one lifecycle step the API does itself, because no sandbox exists yet
 * for a workflow to hold a lease on. The row is written first (state "creating"), so a crash
 * while the provider starts the sandbox leaves a visible row and not an orphan nobody knows of;
 * then the sandbox is created and the row moves to "running" (or "failed" with the error).
 */
import { sandboxLifetimeMs } from "../core/config";
import { describeError } from "../core/errors";
import type { ActivityPolicy, Session } from "../core/types";
import type { ServerDeps } from "./context";
import { checkSessionQuota } from "./limits";

export interface CreateSessionInput {
  ownerId: string;
  template: string;
  idleTimeoutMs: number;
  startCommand?: string;
  /** Before-checkpoint and after-resume commands (sessions.create). */
  hooks?: { beforeCheckpoint?: string[]; afterResume?: string[] };
  /** Overrides of the deployment's retention policy. */
  retention?: { keepLast?: number; keepDailyDays?: number };
  /** What counts as activity (default "api+files"). */
  activity?: ActivityPolicy;
  /** Null or absent: the deployment's TORPOR_FLUSH_INTERVAL_MS; 0: off. */
  flushIntervalMs?: number | null;
  now: number;
}

export async function createSession(deps: ServerDeps, input: CreateSessionInput): Promise<Session> {
  const { store, sandboxes } = deps;
  await checkSessionQuota(store, input.ownerId, deps.config.limits.maxSessionsPerUser);
  const session = await store.createSession({
    ownerId: input.ownerId,
    provider: sandboxes.kind,
    template: input.template,
    idleTimeoutMs: input.idleTimeoutMs,
    // The deployment's policy (TORPOR_RETAIN_LAST / TORPOR_RETAIN_DAILY_DAYS), not the stores' fallback.
    retention: { keepLast: deps.config.lifecycle.retainLast, keepDailyDays: deps.config.lifecycle.retainDailyDays, ...input.retention },
    // The start command is kept on the row: a restore into a new sandbox starts it again.
    hooks: { ...input.hooks, ...(input.startCommand ? { startCommand: input.startCommand } : {}) },
    activity: input.activity,
    flushIntervalMs: input.flushIntervalMs,
    now: input.now,
  });
  try {
    const sandbox = await sandboxes.create({
      template: input.template,
      startCommand: input.startCommand,
      metadata: { torporSessionId: session.id, torporOwnerId: input.ownerId },
      timeoutMs: sandboxLifetimeMs(deps.config.lifecycle, input.idleTimeoutMs), // this session's idle timeout, not the default
    });
    return await store.transition(session.id, "create.succeeded", {
      patch: {
        sandboxId: sandbox.id,
        wakeReason: { at: input.now, kind: "create", detail: `created from template '${input.template}'` },
      },
    });
  } catch (error) {
    await store.transition(session.id, "create.failed", { patch: { lastError: describeError(error) } });
    throw error;
  }
}
