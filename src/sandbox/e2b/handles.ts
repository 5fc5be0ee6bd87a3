/**
 * Connected E2B sandboxes (the SDK's Sandbox objects), kept between calls, and what a call through
 * one does when the sandbox under it stopped running.
 *
 * E2B ends a sandbox `timeoutMs` after create or connect (the lifecycle's `onTimeout` says kill or
 * pause), and a call made through a handle after that fails with TimeoutError "likely due to
 * sandbox timeout" (its proxy answers 502) — the same class as a slow request. Retrying that as
 * transient only burns the step's retries. So after such an error the adapter asks E2B what became
 * of the sandbox:
 *   gone    → SANDBOX_GONE, so workflows take the lost-sandbox path;
 *   paused  → E2B paused it on its timer: connect (which resumes it, files and processes as they
 *             were) and make the call once more (it never ran: the proxy refused it);
 *   running → the error was about the request itself: TIMEOUT, retriable, as before.
 */
import { Sandbox, TimeoutError } from "e2b";
import { SandboxError } from "../../core/errors";
import { guard, mapE2BError } from "./errors";

export interface Connection {
  apiKey: string;
  domain?: string;
}

export interface Handles {
  /** A handle to a running sandbox (connects, and so resumes a paused one, when none is kept). */
  get(sandboxId: string): Promise<Sandbox>;
  /** Connects anew (resuming a paused sandbox) with this timeout, and keeps the handle. */
  connect(sandboxId: string, timeoutMs: number): Promise<Sandbox>;
  keep(sbx: Sandbox): void;
  forget(sandboxId: string): void;
  /** Runs `fn` on the sandbox's handle, with the recovery described above; SDK errors are mapped. */
  call<T>(sandboxId: string, what: string, fn: (sbx: Sandbox) => Promise<T>): Promise<T>;
}

const SANDBOX_TIMEOUT = /likely due to sandbox timeout|reached its end of life/;

/** The SDK's "the sandbox is not there any more" TimeoutError, raw or inside a mapped error. */
export function isSandboxTimeout(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (e instanceof TimeoutError && SANDBOX_TIMEOUT.test(e.message)) return true;
  }
  return false;
}

export function createHandles(conn: Connection, lifetimeMs: () => number): Handles {
  const kept = new Map<string, Sandbox>();

  const handles: Handles = {
    async connect(id, timeoutMs) {
      const sbx = await guard("connect", id, () => Sandbox.connect(id, { ...conn, timeoutMs }));
      kept.set(id, sbx);
      return sbx;
    },
    async get(id) {
      return kept.get(id) ?? handles.connect(id, lifetimeMs());
    },
    keep(sbx) {
      kept.set(sbx.sandboxId, sbx);
    },
    forget(id) {
      kept.delete(id);
    },
    async call(id, what, fn) {
      const sbx = await handles.get(id);
      try {
        return await fn(sbx);
      } catch (error) {
        if (!isSandboxTimeout(error)) throw mapE2BError(error, what, id);
        kept.delete(id);
        let state: "gone" | "paused" | "running";
        try {
          state = (await Sandbox.getInfo(id, conn)).state === "paused" ? "paused" : "running";
        } catch (probe) {
          if (mapE2BError(probe, "getInfo", id).code !== "SANDBOX_GONE") throw mapE2BError(error, what, id);
          state = "gone";
        }
        if (state === "gone") {
          throw new SandboxError("SANDBOX_GONE", `E2B: sandbox ${id} is gone (${what}): it ended on its timeout`, {
            cause: error,
            details: { sandboxId: id },
          });
        }
        if (state === "running") throw mapE2BError(error, what, id);
        return guard(what, id, async () => fn(await handles.connect(id, lifetimeMs())));
      }
    },
  };
  return handles;
}
