"use client";
/**
 * One phase's hook commands (before checkpoint, after resume) as a list to edit: a row per
 * command, Remove on each, Add at the end. The rules are the API's (src/server/session-settings:
 * at most HOOKS_MAX commands, each 1..COMMAND_MAX characters once trimmed), checked here first so
 * that the form says which row is wrong; the API checks them again.
 *
 * The time limit is the deployment's (TORPOR_HOOK_TIMEOUT_MS, one for every hook): the store and
 * the workflows keep no limit per command, so the form shows it and does not offer to change it.
 */

export const HOOKS_MAX = 10;
export const COMMAND_MAX = 2000;

/** The first problem with a phase's commands, in words; null when they are fine. */
export function hooksProblem(label: string, commands: string[]): string | null {
  if (commands.length > HOOKS_MAX) return `${label}: at most ${HOOKS_MAX} commands`;
  for (const [i, c] of commands.entries()) {
    if (c.trim() === "") return `${label}: command ${i + 1} is empty (remove it or type a command)`;
    if (c.trim().length > COMMAND_MAX) return `${label}: command ${i + 1} is longer than ${COMMAND_MAX} characters`;
  }
  return null;
}

export function HooksEditor(props: {
  label: string;
  /** The phase's id in test ids and labels: "before-checkpoint", "after-resume". */
  phase: string;
  commands: string[];
  onChange(commands: string[]): void;
  timeLimitMs: number | null;
  disabled: boolean;
}) {
  const { label, phase, commands, onChange, timeLimitMs, disabled } = props;
  const limit = timeLimitMs === null ? "the deployment's hook time limit" : `${Math.round(timeLimitMs / 1000)} s each`;
  return (
    <fieldset className="wide hooks" data-testid={`hooks-${phase}`}>
      <legend>
        {label} <span className="muted">(run in order, {limit}, TORPOR_HOOK_TIMEOUT_MS)</span>
      </legend>
      {commands.length === 0 && <span className="muted">No commands.</span>}
      {commands.map((command, i) => (
        <div className="hook" key={i} data-hook={i}>
          <input
            type="text"
            value={command}
            disabled={disabled}
            aria-label={`${label} command ${i + 1}`}
            aria-invalid={command.trim() === "" || command.trim().length > COMMAND_MAX}
            onChange={(e) => onChange(commands.map((c, j) => (j === i ? e.target.value : c)))}
          />
          <button type="button" disabled={disabled} aria-label={`Remove ${label.toLowerCase()} command ${i + 1}`} onClick={() => onChange(commands.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <div>
        <button type="button" disabled={disabled || commands.length >= HOOKS_MAX} onClick={() => onChange([...commands, ""])}>
          Add {label.toLowerCase()} command
        </button>
      </div>
    </fieldset>
  );
}
