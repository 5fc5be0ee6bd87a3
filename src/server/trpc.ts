/**
 * tRPC initialisation: the procedure builders and their middleware.
 * - every procedure maps thrown Torpor errors to tRPC codes and turns zod failures into one
 *   readable message ("Invalid input: sessionId: …");
 * - `authedProcedure` requires a verified bearer token; `operatorProcedure` the operator role.
 * Ownership checks per session live in access.ts, used by each router.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { Context } from "./context";
import { toTRPCError } from "./errors";

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const torporCode = (error.cause as { code?: unknown } | undefined)?.code;
    return {
      ...shape,
      data: { ...shape.data, torporCode: typeof torporCode === "string" ? torporCode : null },
    };
  },
});

function describeZod(error: ZodError): string {
  const parts = error.issues.map((issue) => {
    const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    return `${where}${issue.message}`;
  });
  return `Invalid input: ${parts.join("; ")}`;
}

/** Runs after tRPC has wrapped a thrown error: re-throws it with the right code and message. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const { error } = result;
  if (error.cause instanceof ZodError) {
    throw new TRPCError({ code: "BAD_REQUEST", message: describeZod(error.cause), cause: error.cause });
  }
  if (error.code === "INTERNAL_SERVER_ERROR" && error.cause !== undefined) throw toTRPCError(error.cause);
  return result;
});

const requireAuth = t.middleware(({ ctx, next }) => {
  if (ctx.principal === undefined) {
    throw new TRPCError({ code: "UNAUTHORIZED", message: ctx.authError ?? "Unauthorized: no token" });
  }
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapErrors);
export const authedProcedure = publicProcedure.use(requireAuth);
export const operatorProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.principal.role !== "operator") {
    throw new TRPCError({ code: "FORBIDDEN", message: "Forbidden: this needs the operator role" });
  }
  return next();
});
