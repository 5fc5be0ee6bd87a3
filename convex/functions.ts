/**
 * The builders every public function in convex/ is declared with: `secretQuery` and
 * `secretMutation` are `query` and `mutation` with one more argument, `secret`, checked before the
 * handler runs (auth.ts), and with Torpor's typed errors carried to the client as ConvexError data.
 * A handler never sees the secret and cannot forget the check.
 *
 * Built with convex-helpers' custom functions (customQuery/customMutation): the `secret` argument
 * is consumed by the customization's `input`, which checks it; convex-helpers has no hook for a
 * handler's errors, so each handler is wrapped once here to carry them (auth.ts carryTypedErrors).
 */
import { customMutation, customQuery } from "convex-helpers/server/customFunctions";
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";
import { carryTypedErrors, checkSecret } from "./auth";

const withSecret = {
  args: { secret: v.string() },
  input: async (_ctx: unknown, { secret }: { secret: string }) => {
    await carryTypedErrors(async () => checkSecret(secret));
    return { ctx: {}, args: {} };
  },
};

const querySecretly = customQuery(query, withSecret);
const mutateSecretly = customMutation(mutation, withSecret);

interface Definition {
  handler: (...args: never[]) => unknown;
}

/** The same definition, its handler's TorporErrors turned into ConvexErrors the adapter reads back. */
function carrying<D extends Definition>(fn: D): D {
  const handler = fn.handler as (...args: unknown[]) => unknown;
  return { ...fn, handler: (...args: unknown[]) => carryTypedErrors(async () => handler(...args)) };
}

// The casts: the builders' own types (generic over args, returns and handler) are kept as they
// are; only the handler inside is wrapped.
export const secretQuery = ((fn: Definition) => querySecretly(carrying(fn) as never)) as unknown as typeof querySecretly;
export const secretMutation = ((fn: Definition) => mutateSecretly(carrying(fn) as never)) as unknown as typeof mutateSecretly;
