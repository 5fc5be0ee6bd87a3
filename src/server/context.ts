/**
 * The tRPC context: the ports a procedure may use plus the caller (principal) read from the
 * bearer token. `createContextInner` builds it without a request, so tests call procedures
 * through `createCaller`; `createContext` is the HTTP one, used by app/api/trpc.
 *
 * `ServerDeps` is the part of the runtime (src/runtime's Runtime) the API needs: a structural
 * type, so that a Runtime built in another bundle (the start command's) fits as it is.
 */
import type { CheckpointEngine } from "../checkpoint/types";
import type { Config } from "../core/config";
import type { ObjectStore } from "../objectstore/types";
import type { SandboxProvider } from "../sandbox/types";
import type { StateStore } from "../store/types";
import type { WorkflowDispatcher } from "../workflows/types";
import { bearerToken, verifyToken, type Principal } from "./auth";
import { isCurrentOperatorToken } from "./operator-token";

export interface ServerDeps {
  config: Config;
  store: StateStore;
  sandboxes: SandboxProvider;
  dispatcher: WorkflowDispatcher;
}

/** What the API's procedures get: the ports above plus, read-only, the checkpoint browser's (a Runtime has both). */
export interface ApiDeps extends ServerDeps {
  checkpoints: CheckpointEngine;
  objects: ObjectStore;
}

export interface Context {
  deps: ApiDeps;
  /** undefined: no or an invalid token; `authError` then says why. */
  principal: Principal | undefined;
  authError: string | undefined;
  now(): number;
}

export function createContextInner(options: {
  deps: ApiDeps;
  principal?: Principal;
  authError?: string;
  now?: () => number;
}): Context {
  return {
    deps: options.deps,
    principal: options.principal,
    authError: options.authError,
    now: options.now ?? Date.now,
  };
}

/** For a fetch Request: verifies the bearer token (a bad token is reported by the auth middleware). */
export async function createContext(options: { req: Request; deps: ApiDeps; authSecret: string }): Promise<Context> {
  const token = bearerToken(options.req.headers.get("authorization"));
  if (token === undefined) {
    return createContextInner({ deps: options.deps, authError: "Unauthorized: send Authorization: Bearer <token>" });
  }
  try {
    const principal = await verifyToken(options.authSecret, token);
    if (principal.operatorTokenId !== undefined && !isCurrentOperatorToken(options.deps.config, principal.operatorTokenId)) {
      return createContextInner({ deps: options.deps, authError: "Unauthorized: this operator token was revoked (rotated); use the current one" });
    }
    return createContextInner({ deps: options.deps, principal });
  } catch (error) {
    return createContextInner({ deps: options.deps, authError: (error as Error).message });
  }
}
