/**
 * Inngest's endpoint (/api/inngest): serves the workflow functions when Inngest is the workflow
 * engine. Otherwise it answers 404 with the reason: with the embedded engine nothing may reach
 * Inngest, and the SDK would answer 500 for want of a signing key. The SDK and the functions are
 * loaded on first use, so the embedded default never loads them.
 */
import type { NextRequest } from "next/server";
import { getConfig } from "../../../src/core/config";
import { appHost } from "../../_server/host";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/**
 * Seconds one request may run on a serverless host (Vercel's default cap on most plans). Next reads
 * segment config statically, so this is a literal: it must equal TORPOR_SERVE_MAX_DURATION_S's
 * default (tests/inngest/serverless.test.ts), and a host with another limit changes both.
 */
export const maxDuration = 300;

type Method = "GET" | "POST" | "PUT";
type Handlers = Record<Method, (req: NextRequest, ctx: unknown) => Promise<Response>>;

let handlers: Promise<Handlers> | undefined;

async function load(): Promise<Handlers> {
  const [{ serve }, inngest, { inngestServeOptions }] = await Promise.all([
    import("inngest/next"),
    import("../../../inngest"),
    import("../../../src/engine/inngest"),
  ]);
  // The functions run against the app's runtime, not a second one built from the same settings.
  inngest.setWorkflowDeps(async () => (await appHost()).workflowDeps);
  return serve({ client: inngest.inngest, functions: inngest.functions, ...inngestServeOptions(getConfig()) });
}

function handler(method: Method) {
  return async (req: NextRequest, ctx: unknown): Promise<Response> => {
    if (getConfig().workflowEngine.kind !== "inngest") {
      return Response.json(
        {
          error:
            "Inngest is not configured: workflows run on the embedded engine. Set INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY (Inngest Cloud) or INNGEST_DEV=1 (dev server) to serve Inngest functions here.",
        },
        { status: 404 },
      );
    }
    handlers ??= load().catch((error: unknown) => {
      handlers = undefined;
      throw error;
    });
    return (await handlers)[method](req, ctx);
  };
}

export const GET = handler("GET");
export const POST = handler("POST");
export const PUT = handler("PUT");
