/**
 * A session's own settings, as sessions.create takes them and sessions.update changes them: the
 * idle timeout, the hooks (before-checkpoint and after-resume commands, the start command), the
 * retention policy, the activity policy (what counts toward the idle deadline: "api" or
 * "api+files", src/core/session-policy) and the flush interval (null: TORPOR_FLUSH_INTERVAL_MS;
 * 0: no continuous flush for this session). Hooks run with TORPOR_HOOK_TIMEOUT_MS each. An update merges: a field left out
 * keeps its value (hooks.startCommand too: it is what a restore starts again).
 */
import { z } from "zod";
import { ACTIVITY_POLICIES, type Session, type SessionHooks } from "../core/types";
import type { SessionPatch } from "../store/types";

const command = z.string().trim().min(1).max(2000);

export const idleTimeoutInput = z.number().int().min(1000).max(30 * 24 * 3600 * 1000);

export const activityInput = z.enum(ACTIVITY_POLICIES);

/** ms; 0 turns continuous flush off for the session, null follows the deployment's setting. */
export const flushIntervalInput = z
  .number()
  .int()
  .min(0)
  .max(7 * 24 * 3600 * 1000)
  .refine((ms) => ms === 0 || ms >= 1000, { message: "must be 0 (off) or at least 1000 ms" })
  .nullable();

export const hooksInput = z
  .object({
    beforeCheckpoint: z.array(command).max(10).optional(),
    afterResume: z.array(command).max(10).optional(),
    /** null clears it. */
    startCommand: command.nullable().optional(),
  })
  .strict();

export const retentionInput = z
  .object({
    keepLast: z.number().int().min(1).max(1000).optional(),
    keepDailyDays: z.number().int().min(0).max(3650).optional(),
  })
  .strict();

export const settingsInput = z.object({
  idleTimeoutMs: idleTimeoutInput.optional(),
  hooks: hooksInput.optional(),
  retention: retentionInput.optional(),
  activity: activityInput.optional(),
  flushIntervalMs: flushIntervalInput.optional(),
});

export type SettingsInput = z.infer<typeof settingsInput>;

/** The session's hooks with `input`'s fields applied. */
export function mergedHooks(current: SessionHooks, input: z.infer<typeof hooksInput>): SessionHooks {
  const next: SessionHooks = {
    beforeCheckpoint: input.beforeCheckpoint ?? current.beforeCheckpoint,
    afterResume: input.afterResume ?? current.afterResume,
  };
  const start = input.startCommand === undefined ? current.startCommand : input.startCommand ?? undefined;
  if (start !== undefined) next.startCommand = start;
  return next;
}

/** The store patch for a settings update (only the fields given). */
export function settingsPatch(session: Session, input: SettingsInput): SessionPatch {
  const patch: SessionPatch = {};
  if (input.idleTimeoutMs !== undefined) patch.idleTimeoutMs = input.idleTimeoutMs;
  if (input.hooks !== undefined) patch.hooks = mergedHooks(session.hooks, input.hooks);
  if (input.retention !== undefined) patch.retention = { ...session.retention, ...input.retention };
  if (input.activity !== undefined) patch.activity = input.activity;
  if (input.flushIntervalMs !== undefined) patch.flushIntervalMs = input.flushIntervalMs;
  return patch;
}
