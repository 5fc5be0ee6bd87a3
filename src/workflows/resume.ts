/**
 * Resume: bring a sleeping session back, down a recorded fallback ladder.
 *
 *   rung "connected": the session is paused and the provider still has the sandbox → connect.
 *   rung "restored":  the provider lost it (gone, expired, connect fails as gone), or the session
 *                     is archived → new sandbox from the template, restore the latest committed
 *                     checkpoint, verify every hash, point the session at the new sandbox.
 *   rung "fresh":     no checkpoint at all → a fresh sandbox and a clear warning.
 *
 * A session that claims to be running but whose sandbox is gone is first recorded as archived, so
 * it takes the "restored" rung. A new sandbox (restored, fresh) then runs the session's start command
 * again; then the after-resume hooks, each its own step. The run result records the rung and why. On a
 * failure the session goes back to the resting state it came from (paused or archived); the
 * checkpoint is untouched and a sandbox this run created is removed.
 */
import { describeError, isTorporError } from "../core/errors";
import { runHooks, type HookReport } from "./hooks";
import { isLeaseLive } from "../core/lifecycle";
import { markSandboxLost, releaseLease, settle, takeLease } from "./lease";
import { createSandboxStep, restoreIntoNewSandbox, startCommandStep } from "./restore-into-sandbox";
import { sessionWorkflow, type TorporEvent } from "./types";

type ResumeEvent = Extract<TorporEvent, { name: "torpor/session.resume.requested" }>;

export type ResumeRung = "connected" | "restored" | "fresh" | "already-running" | "skipped";

export interface ResumeResult {
  rung: ResumeRung;
  why: string;
  sandboxId: string | null;
  checkpointId: string | null;
  warnings: string[];
  hooks: HookReport[];
}

export const resumeWorkflow = sessionWorkflow<ResumeEvent, ResumeResult>({
  id: "resume-session",
  name: "Resume a session",
  trigger: { event: "torpor/session.resume.requested" },
  retries: 6,
  async handler({ event, step, runId, deps }) {
    const { sessionId, reason } = event.data;
    const wakeReason = { at: deps.now(), kind: "request" as const, detail: reason };
    // A "running" session whose sandbox the provider lost is not running: record the loss, so
    // the ladder below restores its latest checkpoint instead of answering "already running".
    await step.run("Check the sandbox of a running session", async () => {
      const s = await deps.store.getSession(sessionId);
      if (s.state !== "running" || !s.sandboxId || isLeaseLive(s.lease, deps.now())) return null;
      if ((await deps.sandboxes.status(s.sandboxId)) !== "gone") return null;
      return markSandboxLost(deps, sessionId, "it was gone while the session was running");
    });
    const lease = await step.run("Take the lease", () =>
      takeLease(deps, {
        sessionId,
        holder: runId,
        operation: "resume",
        start: "resume.start",
        onBusy: "wait",
        doneStates: ["running"],
        patch: { wakeReason },
      }),
    );
    const base = { sandboxId: null, checkpointId: null, warnings: [] as string[], hooks: [] as HookReport[] };
    if (!lease.ok) {
      const rung = lease.state === "running" ? "already-running" : "skipped";
      return { ...base, rung, why: lease.reason, sandboxId: null };
    }
    let created: string | null = null;
    try {
      let why = lease.state === "resuming" ? "" : `the session was ${lease.state === "restoring" ? "archived" : lease.state}`;
      if (lease.state === "resuming") {
        const connected = await step.run("Reconnect to the paused sandbox", async () => {
          if (!lease.sandboxId) return { ok: false, why: "the session has no sandbox id" };
          try {
            await deps.sandboxes.connect(lease.sandboxId);
            return { ok: true, why: "the provider still had the paused sandbox" };
          } catch (error) {
            if (isTorporError(error, "SANDBOX_GONE") || isTorporError(error, "SANDBOX_NOT_FOUND")) {
              return { ok: false, why: `the provider lost the sandbox: ${describeError(error)}` };
            }
            throw error;
          }
        });
        why = connected.why;
        if (connected.ok) {
          await step.run("Mark the session running", async () => {
            // A replay after a crash that followed the commit finds its own effect: done.
            if (await alreadyRunningOn(lease.sandboxId!)) return null;
            await deps.store.transition(sessionId, "resume.done", {
              holder: runId,
              patch: { wakeReason: { ...wakeReason, detail: `${reason} (connected)` }, lastError: null },
              now: deps.now(),
            });
            return null;
          });
          return await finish(lease.sandboxId!, lease.latestCheckpointId, "connected", why, []);
        }
        await step.run("Fall back to a restore", async () => {
          const session = await deps.store.getSession(sessionId);
          if (session.state === "restoring" && session.lease?.holder === runId) return null; // a replay: done
          await deps.store.transition(sessionId, "resume.fallback", { holder: runId, now: deps.now() });
          return null;
        });
      }
      const checkpointId = lease.latestCheckpointId;
      const warnings: string[] = [];
      let sandboxId: string;
      if (checkpointId) {
        const restored = await restoreIntoNewSandbox(step, deps, {
          sessionId,
          runId,
          template: lease.template,
          checkpointId,
          onCreated: (id) => (created = id),
        });
        sandboxId = restored.sandboxId;
      } else {
        warnings.push(`No checkpoint exists for session '${sessionId}': it starts from a fresh '${lease.template}' sandbox without its earlier files`);
        sandboxId = await createSandboxStep(step, deps, { sessionId, runId, template: lease.template, label: "Create a fresh sandbox" });
        created = sandboxId;
      }
      const rung = checkpointId ? "restored" : "fresh";
      // The new sandbox's processes: the start command first, the after-resume hooks (finish) next.
      const notStarted = await startCommandStep(step, deps, sandboxId, lease.hooks.startCommand);
      if (notStarted) warnings.push(notStarted);
      await step.run("Point the session at the new sandbox", async () => {
        if (await alreadyRunningOn(sandboxId)) return null; // a replay after the commit: done
        await deps.store.transition(sessionId, "resume.done", {
          holder: runId,
          patch: {
            sandboxId,
            wakeReason: { ...wakeReason, detail: `${reason} (${rung}: ${why})` },
            // Kept otherwise: it may say which changes a lost sandbox took with it.
            ...(warnings[0] ? { lastError: warnings[0] } : {}),
          },
          now: deps.now(),
        });
        return null;
      });
      return await finish(sandboxId, checkpointId, rung, why, warnings);
    } catch (error) {
      await step.run("Put the session back to sleep after a failure", async () => {
        const session = await deps.store.getSession(sessionId);
        // Never remove the sandbox the session already points at.
        if (created && session.sandboxId !== created) await deps.sandboxes.kill(created);
        return settle(deps, {
          sessionId,
          holder: runId,
          events: ["resume.failed"],
          patch: { lastError: `resume failed: ${describeError(error)}` },
        });
      });
      throw error;
    }

    /** Our own "resume.done" committed already: the session runs on `sandboxId` under our lease. */
    async function alreadyRunningOn(sandboxId: string): Promise<boolean> {
      const session = await deps.store.getSession(sessionId);
      return session.state === "running" && session.sandboxId === sandboxId && session.lease?.holder === runId;
    }

    async function finish(sandboxId: string, checkpointId: string | null, rung: ResumeRung, why: string, warnings: string[]) {
      const hooks = await runHooks(step, deps, "after-resume", sandboxId, lease.ok ? lease.hooks.afterResume : []);
      await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
      for (const hook of hooks) if (!hook.ok) warnings.push(`after-resume hook '${hook.command}' failed: ${hook.error}`);
      return { rung, why, sandboxId, checkpointId, warnings, hooks };
    }
  },
});
