/**
 * The builders every public function in convex/ is declared with: `secretQuery` and
 * `secretMutation` are `query` and `mutation` with one more argument, `secret`, checked before the
 * handler runs (auth.ts), and with Torpor's typed errors carried to the client as ConvexError data.
 * A handler never sees the secret and cannot forget the check.
 *
 * This is convex-helpers' customQuery/customMutation pattern (a builder that adds arguments and
 * runs a check), written here with convex's own API in a dozen lines: convex-helpers is not a
 * dependency, and this is the only thing Torpor would use from it.
 */
import { v, type ObjectType, type PropertyValidators, type Validator } from "convex/values";
import type { RegisteredMutation, RegisteredQuery } from "convex/server";
import { mutation, query, type MutationCtx, type QueryCtx } from "./_generated/server";
import { guarded } from "./auth";

interface SecretFunction<Ctx, Args extends PropertyValidators, R> {
  args: Args;
  /** Checked by Convex on the way out, when given. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  returns?: Validator<any, "required", any>;
  handler: (ctx: Ctx, args: ObjectType<Args>) => Promise<R> | R;
}

const secretArg = { secret: v.string() };
type WithSecret<Args extends PropertyValidators> = ObjectType<Args & typeof secretArg>;

// The casts: convex's builders infer the handler's argument type from `args`, which TypeScript
// cannot do through a generic spread; the declared result type states what the builder makes.
function definition<Ctx, Args extends PropertyValidators, R>(fn: SecretFunction<Ctx, Args, R>) {
  return {
    args: { ...fn.args, ...secretArg },
    ...(fn.returns ? { returns: fn.returns } : {}),
    handler: (ctx: Ctx, { secret, ...args }: { secret: string }): Promise<R> =>
      guarded(secret, async () => fn.handler(ctx, args as unknown as ObjectType<Args>)),
  };
}

export function secretQuery<Args extends PropertyValidators, R>(
  fn: SecretFunction<QueryCtx, Args, R>,
): RegisteredQuery<"public", WithSecret<Args>, Promise<R>> {
  return query(definition(fn) as never) as RegisteredQuery<"public", WithSecret<Args>, Promise<R>>;
}

export function secretMutation<Args extends PropertyValidators, R>(
  fn: SecretFunction<MutationCtx, Args, R>,
): RegisteredMutation<"public", WithSecret<Args>, Promise<R>> {
  return mutation(definition(fn) as never) as RegisteredMutation<"public", WithSecret<Args>, Promise<R>>;
}
