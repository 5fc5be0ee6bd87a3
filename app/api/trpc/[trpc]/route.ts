/** The tRPC API at /api/trpc: the fetch adapter over src/server's router. */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createContext } from "../../../../src/server/context";
import { appRouter } from "../../../../src/server/routers";
import { appHost } from "../../../_server/host";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

async function handler(req: Request): Promise<Response> {
  const host = await appHost();
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createContext({ req, deps: host.deps, authSecret: host.authSecret }),
    onError({ error, path }) {
      // Client mistakes are the caller's to read; server faults belong in the log.
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`tRPC ${path ?? "?"}: ${error.message}`);
    },
  });
}

export { handler as GET, handler as POST };
