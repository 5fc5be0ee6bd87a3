/**
 * Limits a tenant cannot talk past: request bodies are counted while they stream in (a 384 MiB
 * body cost 1.45 GB and blocked the event loop for 16 s when the size was checked after
 * parsing), batches have a size, and a user has a session quota.
 */
import { TRPCError } from "@trpc/server";
import type { Config } from "../core/config";
import { isTerminal } from "../core/state-classes";
import type { StateStore } from "../store/types";

export interface RequestLimits {
  maxBodyBytes: number;
  maxBatch: number;
}

export function requestLimits(config: Config): RequestLimits {
  return { maxBodyBytes: config.limits.maxRequestBytes, maxBatch: config.limits.maxBatch };
}

/** The tRPC error body a client understands, for a request refused before tRPC reads it. */
function tooLarge(maxBytes: number): Response {
  const message = `Request body larger than ${maxBytes} bytes (TORPOR_MAX_REQUEST_BYTES)`;
  return Response.json(
    { error: { message, code: -32600, data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413 } } },
    { status: 413 },
  );
}

/**
 * Returns a 413 response for a body that says (Content-Length) or turns out to be larger than
 * `maxBytes`, or a request whose body stream fails as soon as it passes the limit; nothing past
 * the limit is ever buffered.
 */
export function limitBody(req: Request, maxBytes: number): { request: Request } | { refused: Response } {
  if (req.body === null) return { request: req };
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return { refused: tooLarge(maxBytes) };
  let seen = 0;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) controller.error(new BodyTooLargeError(maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
  const request = new Request(req.url, { method: req.method, headers: req.headers, body: counted, duplex: "half", signal: req.signal } as RequestInit);
  return { request };
}

export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`Request body larger than ${maxBytes} bytes (TORPOR_MAX_REQUEST_BYTES)`);
    this.name = "BodyTooLargeError";
  }
}

/** Runs a handler over a limited body; a body that passes the limit mid-stream answers 413. */
export async function withBodyLimit(req: Request, maxBytes: number, handle: (req: Request) => Promise<Response>): Promise<Response> {
  const limited = limitBody(req, maxBytes);
  if ("refused" in limited) return limited.refused;
  const response = await handle(limited.request);
  // tRPC turns a failed body read into a 400 PARSE_ERROR: say what really happened.
  if (response.status === 400 && (await isBodyTooLarge(response.clone()))) return tooLarge(maxBytes);
  return response;
}

async function isBodyTooLarge(response: Response): Promise<boolean> {
  const text = await response.text().catch(() => "");
  return text.includes("TORPOR_MAX_REQUEST_BYTES");
}

/** Refuses a new session past the user's quota (TORPOR_MAX_SESSIONS_PER_USER; deleted ones do not count). */
export async function checkSessionQuota(store: StateStore, ownerId: string, maxSessions: number): Promise<void> {
  if (maxSessions <= 0) return;
  const sessions = await store.listSessions({ ownerId, limit: Math.min(1000, maxSessions * 4 + 100) });
  const live = sessions.filter((s) => !isTerminal(s.state)).length;
  if (live >= maxSessions) {
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `User '${ownerId}' has ${live} sessions, the most allowed (TORPOR_MAX_SESSIONS_PER_USER=${maxSessions}); delete one first`,
    });
  }
}
