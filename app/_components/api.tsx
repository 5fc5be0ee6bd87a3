"use client";
/**
 * The dashboard's connection to the API: the bearer token (taken once from `?token=…` in the
 * printed link, then kept in localStorage), a typed tRPC client, and `usePoll`, which re-runs a
 * query every `intervalMs` so pages follow the system without a reload.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { createTorporClient, type TorporClient } from "../../src/client";

const STORAGE_KEY = "torpor.token";

interface Api {
  client: TorporClient | null;
  token: string | null;
  setToken(token: string | null): void;
}

const ApiContext = createContext<Api>({ client: null, token: null, setToken: () => {} });

export function ApiProvider({ children }: { children: ReactNode }) {
  const [token, setTokenState] = useState<string | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get("token");
    if (fromUrl) {
      window.localStorage.setItem(STORAGE_KEY, fromUrl);
      // Keep the token out of the address bar, history and screenshots.
      url.searchParams.delete("token");
      window.history.replaceState(null, "", url.toString());
    }
    setTokenState(fromUrl ?? window.localStorage.getItem(STORAGE_KEY));
    setReady(true);
  }, []);

  const setToken = useCallback((next: string | null) => {
    if (next) window.localStorage.setItem(STORAGE_KEY, next);
    else window.localStorage.removeItem(STORAGE_KEY);
    setTokenState(next);
  }, []);

  const client = useMemo(
    () => (token ? createTorporClient({ url: window.location.origin, token }) : null),
    [token],
  );
  if (!ready) return null;
  return <ApiContext.Provider value={{ client, token, setToken }}>{children}</ApiContext.Provider>;
}

export function useApi(): Api {
  return useContext(ApiContext);
}

export interface Poll<T> {
  data: T | undefined;
  error: string | null;
  refresh(): void;
}

/** Runs `load` now and every `intervalMs`; keeps the last good data while a later load fails. */
export function usePoll<T>(load: (client: TorporClient) => Promise<T>, deps: unknown[], intervalMs = 1500): Poll<T> {
  const { client } = useApi();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    if (!client) return;
    let cancelled = false;
    const run = () => {
      // A hidden tab stops polling (it catches up at the next tick after it is shown again).
      if (document.visibilityState === "hidden") return Promise.resolve();
      return loadRef.current(client).then(
        (value) => !cancelled && (setData(value), setError(null)),
        (e: unknown) => !cancelled && setError(e instanceof Error ? e.message : String(e)),
      );
    };
    void run();
    const timer = setInterval(run, intervalMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, intervalMs, tick, ...deps]);

  return { data, error, refresh: () => setTick((t) => t + 1) };
}

/** The current time, updated every `ms`: for countdowns. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
