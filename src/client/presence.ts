/**
 * usePresencePing: while the editor is visible AND focused, ping the session every `intervalMs`
 * (and at once when it regains focus), so Torpor knows someone is working. A hidden tab or a
 * window in the background sends nothing, which is what lets an abandoned session hibernate.
 * A ping to a sleeping session wakes it (the server requests a resume).
 */
import { useEffect, useRef } from "react";
import type { TorporClient } from "./client";

export interface PresenceOptions {
  /** Default 30 s. Pings closer together than the server's coalescing window are reads anyway. */
  intervalMs?: number;
  /** Off switch (e.g. while the session is being created). Default true. */
  enabled?: boolean;
  onError?: (error: unknown) => void;
  onPing?: (result: { state: string; waking: boolean }) => void;
}

export function isPresent(doc: Pick<Document, "visibilityState" | "hasFocus">): boolean {
  return doc.visibilityState === "visible" && doc.hasFocus();
}

/** `client` or `sessionId` null/undefined: the hook waits (e.g. until the token or the session exists). */
export function usePresencePing(
  client: TorporClient | null | undefined,
  sessionId: string | null | undefined,
  options: PresenceOptions = {},
): void {
  const { intervalMs = 30_000, enabled = true } = options;
  // Callbacks in a ref: a new function each render must not restart the timer.
  const callbacks = useRef(options);
  callbacks.current = options;

  useEffect(() => {
    if (!enabled || !client || !sessionId || typeof document === "undefined") return;
    let stopped = false;
    const ping = () => {
      if (stopped || !isPresent(document)) return;
      client.activity.ping
        .mutate({ sessionId, kind: "ping" })
        .then((r) => callbacks.current.onPing?.(r))
        .catch((e: unknown) => callbacks.current.onError?.(e));
    };
    ping();
    const timer = setInterval(ping, intervalMs);
    window.addEventListener("focus", ping);
    document.addEventListener("visibilitychange", ping);
    return () => {
      stopped = true;
      clearInterval(timer);
      window.removeEventListener("focus", ping);
      document.removeEventListener("visibilitychange", ping);
    };
  }, [client, sessionId, intervalMs, enabled]);
}
