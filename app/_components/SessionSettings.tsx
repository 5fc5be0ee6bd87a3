"use client";
/**
 * A session's own settings, edited in place through sessions.update: the idle timeout, what counts
 * as activity ("api+files": API calls and files the sandbox's processes change; "api": API calls
 * only), the flush interval (empty: the deployment's TORPOR_FLUSH_INTERVAL_MS; 0: off), the hooks
 * (a list of commands per phase, ./HooksEditor) and the retention policy. The form starts from the
 * session's values and sends only what changed; the hooks are checked here first (the row that is
 * wrong is named), then by the API (the error it gives is shown as it is).
 */
import { useState } from "react";
import { useApiAction } from "./api";
import { HooksEditor, hooksProblem } from "./HooksEditor";
import type { SessionRow } from "./types";

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export function SessionSettings({ session, disabled, hookTimeoutMs = null }: { session: SessionRow; disabled: boolean; hookTimeoutMs?: number | null }) {
  const [beforeCheckpoint, setBeforeCheckpoint] = useState(session.hooks.beforeCheckpoint);
  const [afterResume, setAfterResume] = useState(session.hooks.afterResume);
  const initial = {
    idleSeconds: String(Math.round(session.idleTimeoutMs / 1000)),
    activity: session.activity as string,
    flushSeconds: session.flushIntervalMs === null ? "" : String(Math.round(session.flushIntervalMs / 1000)),
    startCommand: session.hooks.startCommand ?? "",
    keepLast: String(session.retention.keepLast),
    keepDailyDays: String(session.retention.keepDailyDays),
  };
  const [form, setForm] = useState(initial);
  const [status, setStatus] = useState<string | null>(null);
  const save = useApiAction((c, input: Parameters<typeof c.sessions.update.mutate>[0]) => c.sessions.update.mutate(input), [["session", session.id], ["sessions"]]);
  const field = (name: keyof typeof initial) => ({
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [name]: e.target.value })),
    disabled,
  });

  const submit = (e: { preventDefault(): void }) => {
    e.preventDefault();
    const problem = hooksProblem("Before checkpoint", beforeCheckpoint) ?? hooksProblem("After resume", afterResume);
    if (problem) return setStatus(problem);
    const input: Parameters<typeof save.mutateAsync>[0] = { sessionId: session.id };
    if (form.idleSeconds !== initial.idleSeconds) input.idleTimeoutMs = Math.round(Number(form.idleSeconds) * 1000);
    if (form.activity !== initial.activity) input.activity = form.activity === "api" ? "api" : "api+files";
    if (form.flushSeconds !== initial.flushSeconds) {
      input.flushIntervalMs = form.flushSeconds.trim() === "" ? null : Math.round(Number(form.flushSeconds) * 1000);
    }
    const hooks: NonNullable<typeof input.hooks> = {};
    if (!same(beforeCheckpoint, session.hooks.beforeCheckpoint)) hooks.beforeCheckpoint = beforeCheckpoint.map((c) => c.trim());
    if (!same(afterResume, session.hooks.afterResume)) hooks.afterResume = afterResume.map((c) => c.trim());
    if (form.startCommand !== initial.startCommand) hooks.startCommand = form.startCommand.trim() === "" ? null : form.startCommand.trim();
    if (Object.keys(hooks).length > 0) input.hooks = hooks;
    const retention: NonNullable<typeof input.retention> = {};
    if (form.keepLast !== initial.keepLast) retention.keepLast = Number(form.keepLast);
    if (form.keepDailyDays !== initial.keepDailyDays) retention.keepDailyDays = Number(form.keepDailyDays);
    if (Object.keys(retention).length > 0) input.retention = retention;
    if (Object.keys(input).length === 1) return setStatus("Nothing changed.");
    setStatus("Saving…");
    save.mutateAsync(input).then(
      () => setStatus("Saved."),
      (error: unknown) => setStatus(error instanceof Error ? error.message : String(error)),
    );
  };

  return (
    <form className="settings" data-testid="settings" onSubmit={submit}>
      <label>
        Idle timeout (s)
        <input type="number" min={1} {...field("idleSeconds")} aria-label="Idle timeout (seconds)" />
      </label>
      <label>
        Counts as activity
        <select {...field("activity")} aria-label="Activity policy">
          <option value="api+files">API calls and sandbox file changes</option>
          <option value="api">API calls only</option>
        </select>
      </label>
      <label>
        Flush interval (s)
        <input
          type="number"
          min={0}
          placeholder="deployment default"
          title="Unsaved changes older than this get a checkpoint while running. Empty: the deployment's TORPOR_FLUSH_INTERVAL_MS; 0: off."
          {...field("flushSeconds")}
          aria-label="Flush interval (seconds)"
        />
      </label>
      <label>
        Keep last checkpoints
        <input type="number" min={1} {...field("keepLast")} aria-label="Keep last checkpoints" />
      </label>
      <label>
        Keep daily (days)
        <input type="number" min={0} {...field("keepDailyDays")} aria-label="Keep daily checkpoints (days)" />
      </label>
      <HooksEditor label="Before checkpoint" phase="before-checkpoint" commands={beforeCheckpoint} onChange={setBeforeCheckpoint} timeLimitMs={hookTimeoutMs} disabled={disabled} />
      <HooksEditor label="After resume" phase="after-resume" commands={afterResume} onChange={setAfterResume} timeLimitMs={hookTimeoutMs} disabled={disabled} />
      <label className="wide">
        Start command
        <input type="text" {...field("startCommand")} aria-label="Start command" />
      </label>
      <div className="wide">
        <button type="submit" disabled={disabled || save.isPending}>
          Save settings
        </button>{" "}
        {status && <span data-testid="settings-status">{status}</span>}
      </div>
    </form>
  );
}
