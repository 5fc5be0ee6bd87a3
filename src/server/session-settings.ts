/**
 * A session's own settings, as sessions.create takes them and sessions.update changes them: the
 * idle timeout, the hooks (before-checkpoint and after-resume commands, the start command) and the
 * retention policy. Hooks run with TORPOR_HOOK_TIMEOUT_MS each. An update merges: a field left out
 * keeps its value (hooks.startCommand too: it is what a restore starts again).
 */
import { z } from "zod";
import type { Session, SessionHooks } from "../core/types";
import type { SessionPatch } from "../store/types";

const command = z.string().trim().min(1).max(2000);

export const idleTimeoutInput = z.number().int().min(1000).max(30 * 24 * 3600 * 1000);

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
  return patch;
}
