/**
 * The typed client for host apps and editors: `createTorporClient({ url, token })` talks to a
 * Torpor app's tRPC API (`url` is the app's base URL; /api/trpc is appended unless given).
 * Only the router's *type* is imported, so the server code never ends up in a client bundle.
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "../server/routers";

export type { AppRouter };

export interface TorporClientOptions {
  /** The app's base URL ("https://torpor.example.com") or the tRPC endpoint itself. */
  url: string;
  /** The bearer token (HS256 JWT), or a function returning the current one (refreshing hosts). */
  token: string | (() => string | Promise<string>);
  /** For tests and non-browser runtimes. */
  fetch?: typeof fetch;
}

export function trpcEndpoint(url: string): string {
  const trimmed = url.replace(/\/+$/, "");
  return /\/api\/trpc$/.test(trimmed) ? trimmed : `${trimmed}/api/trpc`;
}

export function createTorporClient(options: TorporClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: trpcEndpoint(options.url),
        fetch: options.fetch,
        // The server refuses batches past TORPOR_MAX_BATCH (default 20): split below it.
        maxItems: 10,
        async headers() {
          const token = typeof options.token === "function" ? await options.token() : options.token;
          return { authorization: `Bearer ${token}` };
        },
      }),
    ],
  });
}

export type TorporClient = ReturnType<typeof createTorporClient>;

/** The tRPC code of a failed call ("NOT_FOUND", "FORBIDDEN"…), or undefined for other errors. */
export function errorCode(error: unknown): string | undefined {
  if (error instanceof TRPCClientError) {
    const code = (error.data as { code?: unknown } | undefined)?.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}
