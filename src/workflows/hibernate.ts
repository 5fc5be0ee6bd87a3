/**
 * Hibernate: save a session's files and put its sandbox to sleep.
 *
 *   Take the lease (running → hibernating) → before-checkpoint hooks → [Freeze the sandbox's
 *   processes] → Flush pending changes and take a checkpoint → Commit the checkpoint → Check for
 *   activity since the start → Pause the sandbox (→ paused) → Release the lease → Check for
 *   activity during the pause.
 *
 * A provider whose paused sandboxes stay readable (readsWhilePaused: the local one) is frozen
 * before the checkpoint reads it, and stays frozen through the pause: the checkpoint is exactly
 * what the paused sandbox holds, so no write of its own processes slips in between. Any way out
 * that leaves the session running (activity, a failure) thaws it at once.
 *
 * Activity wins: activity seen before the pause aborts the run (→ running, sandbox untouched);
 * activity that slips in while the pause happens sends a resume request, so the session ends up
 * running either way. Providers that cannot pause archive at once (verify, then kill), which is
 * safe because the checkpoint just committed is newer than the last change (invariant 1).
 * A failure before the pause leaves the session running with its sandbox (never half-paused).
 */
import { ConflictError, describeError } from "../core/errors";
import { archiveSteps } from "./archive";
import { activitySince, commitSnapshot, flushAndSnapshot } from "./checkpointing";
import { freezesForReads } from "./frozen-read";
import { runHooks, type HookReport } from "./hooks";
import { guardLease, isSandboxLost, markSandboxLost, releaseLease, requireSandbox, settle, takeLease } from "./lease";
import { namedStep } from "./progress";
import { sessionWorkflow, type TorporEvent } from "./types";

type HibernateEvent = Extract<TorporEvent, { name: "torpor/session.hibernate.requested" }>;

export interface HibernateResult {
  status: "paused" | "archived" | "aborted" | "skipped";
  reason: string;
  checkpointId: string | null;
  hooks: HookReport[];
  resumeRequested: boolean;
}

export const hibernateWorkflow = sessionWorkflow<HibernateEvent, HibernateResult>({
  id: "hibernate-session",
  name: "Hibernate a session",
  trigger: { event: "torpor/session.hibernate.requested" },
  retries: 4,
  async handler({ event, step, runId, deps }) {
    const { sessionId, reason } = event.data;
    // Events sent before the kind was carried: the sweep's reasons start with "idle for".
    const kind = event.data.kind ?? (reason.startsWith("idle") ? "idle" : "request");
    const lease = await step.run("Take the lease", () =>
      takeLease(deps, {
        sessionId,
        holder: runId,
        operation: "hibernate",
        start: "hibernate.start",
        onBusy: "skip",
        patch: { sleepReason: { at: deps.now(), kind, detail: reason } },
      }),
    );
    const result = (status: HibernateResult["status"], why: string, extra: Partial<HibernateResult> = {}) => ({
      status,
      reason: why,
      checkpointId: null,
      hooks: [],
      resumeRequested: false,
      ...extra,
    });
    if (!lease.ok) return result("skipped", lease.reason);
    const sandboxId = requireSandbox(lease, sessionId);
    const startedAt = lease.lastActivityAt;
    const freezes = freezesForReads(deps.sandboxes);
    /** A frozen sandbox whose session stays running must run again (connect is idempotent). */
    const thaw = async () => {
      if (freezes && (await deps.store.getSession(sessionId)).state === "running") await deps.sandboxes.connect(sandboxId);
    };
    try {
      const hooks = await runHooks(step, deps, "before-checkpoint", sandboxId, lease.hooks.beforeCheckpoint);
      if (freezes) {
        // Pausing a paused sandbox changes nothing: a retry or replay of this step is harmless.
        await step.run("Freeze the sandbox's processes", async () => {
          await guardLease(deps, sessionId, runId);
          await deps.sandboxes.pause(sandboxId);
          return null;
        });
      }
      const taken = await namedStep(step, "Flush pending changes and take a checkpoint", async (stepName) => {
        await guardLease(deps, sessionId, runId);
        return flushAndSnapshot(deps, { sessionId, sandboxId, parentId: lease.latestCheckpointId, runId, kind: "hibernate", stepName });
      });
      await step.run("Commit the checkpoint", () => commitSnapshot(deps, sessionId, taken, "hibernate"));
      const activity = await step.run("Check for activity since the start", () => activitySince(deps, sessionId, startedAt, taken));
      const done = { checkpointId: taken.checkpointId, hooks };
      if (activity.active) {
        await step.run("Leave the session running", async () => {
          const settled = await settle(deps, { sessionId, holder: runId, events: ["hibernate.aborted"], patch: { sleepReason: null } });
          await thaw();
          return settled;
        });
        return result("aborted", `activity since the start: ${activity.detail}`, done);
      }
      if (!deps.sandboxes.supportsPause) {
        const archived = await archiveSteps(step, deps, { sessionId, runId, sandboxId });
        // Providers without pause keep the sandbox running: a change that raced in is a failure
        // here, and the catch below leaves the session paused with its sandbox and the reason.
        if (archived.changedSince) {
          throw new ConflictError("CONFLICT", `Session '${sessionId}' not archived: ${archived.changedSince}`, {
            retriable: false,
            details: { sessionId },
          });
        }
        await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
        return result("archived", `${reason}; the provider cannot pause, so the sandbox was archived`, done);
      }
      await step.run("Pause the sandbox", async () => {
        await guardLease(deps, sessionId, runId);
        const session = await deps.store.getSession(sessionId);
        if (session.state === "paused") return null;
        await deps.sandboxes.pause(sandboxId);
        await deps.store.transition(sessionId, "hibernate.paused", { holder: runId, now: deps.now() });
        return null;
      });
      await step.run("Release the lease", () => releaseLease(deps, sessionId, runId));
      const late = await step.run("Check for activity during the pause", () => activitySince(deps, sessionId, startedAt, taken));
      if (late.active) {
        await step.sendEvent("Request a resume for late activity", {
          name: "torpor/session.resume.requested",
          data: { sessionId, reason: `activity during hibernation: ${late.detail}`, requestId: `late-${runId}` },
        });
      }
      const why = taken.reused ? `${reason}; nothing changed since checkpoint '${taken.checkpointId}', so none was taken` : reason;
      return result("paused", why, { ...done, resumeRequested: late.active });
    } catch (error) {
      await step.run("Leave the session in a resting state after a failure", async () => {
        const settled = await settle(deps, {
          sessionId,
          holder: runId,
          events: ["hibernate.aborted", "archive.aborted"],
          patch: { lastError: `hibernate failed: ${describeError(error)}` },
        });
        // Nothing left to hibernate: keep the checkpoints, so that resume restores the latest one.
        if (isSandboxLost(error)) await markSandboxLost(deps, sessionId, describeError(error));
        else await thaw().catch((e: unknown) => deps.log?.(`hibernate: could not thaw '${sandboxId}': ${describeError(e)}`));
        return settled;
      });
      throw error;
    }
  },
});
