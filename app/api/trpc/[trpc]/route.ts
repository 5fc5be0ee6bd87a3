/** The tRPC API at /api/trpc: the fetch adapter over src/server's router. */
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createContext } from "../../../../src/server/context";
import { requestLimits, withBodyLimit } from "../../../../src/server/limits";
import { appRouter } from "../../../../src/server/routers";
import { appHost } from "../../../_server/host";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

async function handler(incoming: Request): Promise<Response> {
  const host = await appHost();
  const limits = requestLimits(host.deps.config);
  return withBodyLimit(incoming, limits.maxBodyBytes, (req) => fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    maxBatchSize: limits.maxBatch,
    createContext: () => createContext({ req, deps: host.deps, authSecret: host.authSecret }),
    onError({ error, path }) {
      // Client mistakes are the caller's to read; server faults belong in the log.
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`tRPC ${path ?? "?"}: ${error.message}`);
    },
  }));
}

export { handler as GET, handler as POST };
