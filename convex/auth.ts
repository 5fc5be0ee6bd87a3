/**
 * The shared-secret check every public function runs first, and the error wrapper that carries
 * Torpor's typed errors across the wire.
 *
 * Why a shared secret and not a deploy key: a deploy key is an admin credential for the whole
 * deployment (push code, change env vars, call internal functions); the Torpor server only needs
 * to call these functions, so it gets a secret that can do exactly that and nothing more, can be
 * rotated with `npx convex env set TORPOR_CONVEX_SECRET …` without re-deploying, and keeps every
 * function unusable by an anonymous browser that learns the deployment URL.
 *
 * The secret comes from the deployment's environment, through ./config.
 */
import { ConvexError } from "convex/values";
import { isTorporError, TorporError } from "../src/core/errors";
import { deploymentSecret } from "./config";

/** Compares in time independent of where the strings first differ. */
function sameSecret(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (given.charCodeAt(i % Math.max(given.length, 1)) || 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}

export function checkSecret(secret: string): void {
  const expected = deploymentSecret();
  if (!expected) {
    throw new TorporError("UNAUTHORIZED", "TORPOR_CONVEX_SECRET is not set (16+ characters) on this Convex deployment");
  }
  if (!sameSecret(secret, expected)) throw new TorporError("UNAUTHORIZED", "Wrong Torpor secret");
}

/** What the adapter in src/store/convex.ts turns back into a TorporError. */
export type WireError = {
  code: string;
  message: string;
  details: string;
};

/** Runs `handler` and turns a TorporError it throws into a ConvexError the client sees. */
export async function carryTypedErrors<T>(handler: () => Promise<T>): Promise<T> {
  try {
    return await handler();
  } catch (error) {
    if (isTorporError(error)) {
      const data: WireError = { code: error.code, message: error.message, details: JSON.stringify(error.details) };
      throw new ConvexError(data);
    }
    throw error;
  }
}
