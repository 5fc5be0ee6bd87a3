"use client";
/**
 * The dashboard's connection to the API: the bearer token (taken once from `?token=…` in the
 * printed link, then kept in localStorage), a typed tRPC client, and one TanStack Query cache.
 *
 * Every read goes through `useApiQuery(key, load, { intervalMs })`: components asking for the same
 * key share one cache entry and one request (dedupe), polling stops in a hidden tab, and
 * `useApiAction` invalidates the keys an action changes, so the page refreshes at once instead of
 * at the next tick. A page that needs several reads asks for them in one query (one `load` calling
 * several procedures in the same tick): the tRPC batch link sends them as one HTTP request, so no
 * page issues more than one request per poll interval.
 *
 * Keys are arrays whose first element names the resource: ["session", id, …], ["sessions", …],
 * ["runs", …], ["overview"]; invalidating ["session", id] refreshes every read of that session.
 */
import { QueryClient, QueryClientProvider, useMutation, useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { createTorporClient, type TorporClient } from "../../src/client";

const STORAGE_KEY = "torpor.token";

interface Api {
  client: TorporClient | null;
  token: string | null;
  setToken(token: string | null): void;
}

const ApiContext = createContext<Api>({ client: null, token: null, setToken: () => {} });

function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A poll tick is the refresh; a remount within a second reuses the cache instead of asking again.
        staleTime: 1000,
        retry: 1,
        refetchIntervalInBackground: false,
        refetchOnWindowFocus: true,
      },
    },
  });
}

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
  // A new token is another caller: nothing cached for the previous one may show.
  const queryClient = useMemo(() => newQueryClient(), [token]);
  if (!ready) return null;
  return (
    <QueryClientProvider client={queryClient}>
      <ApiContext.Provider value={{ client, token, setToken }}>{children}</ApiContext.Provider>
    </QueryClientProvider>
  );
}

export function useApi(): Api {
  return useContext(ApiContext);
}

export interface Poll<T> {
  data: T | undefined;
  error: string | null;
  refresh(): void;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * A cached read, refreshed every `intervalMs` (false: read once, e.g. a finished run's steps).
 * Keeps the last good data while a later read fails.
 */
export function useApiQuery<T>(
  key: QueryKey,
  load: (client: TorporClient, signal: AbortSignal) => Promise<T>,
  options: { intervalMs?: number | false; enabled?: boolean } = {},
): Poll<T> {
  const { client } = useApi();
  const { intervalMs = 1500, enabled = true } = options;
  const query = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => load(client!, signal),
    enabled: enabled && client !== null,
    refetchInterval: intervalMs,
    placeholderData: (previous) => previous,
  });
  return { data: query.data, error: query.error ? message(query.error) : null, refresh: () => void query.refetch() };
}

/** An action (resume, hibernate…) that refreshes the reads it changes once it is accepted. */
export function useApiAction<I, O>(call: (client: TorporClient, input: I) => Promise<O>, invalidates: QueryKey[]) {
  const { client } = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: I) => call(client!, input),
    onSettled: () => Promise.all(invalidates.map((queryKey) => queryClient.invalidateQueries({ queryKey }))),
  });
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
