/**
 * zod schemas shared by the routers' inputs. Ids are checked for shape (prefix + base36/hex) so a
 * typo fails validation with a clear message instead of a lookup; file paths must stay inside the
 * workspace (relative, "/"-separated, no "..").
 */
import { z } from "zod";
import { SESSION_STATES } from "../core/types";
import { unsafePathReason } from "../core/workspace-paths";

const ID_SHAPE = /^[a-z]{2,5}_[0-9a-z]{9,40}$/;

const idOf = (prefix: string, what: string) =>
  z
    .string()
    .max(64)
    .refine((v) => ID_SHAPE.test(v) && v.startsWith(`${prefix}_`), { message: `not a ${what} id (${prefix}_…)` });

export const sessionId = idOf("ses", "session");
export const checkpointId = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, "not a checkpoint id");

export const sessionRef = z.object({ sessionId });

export const sessionState = z.enum(SESSION_STATES);

/** A workspace-relative path, by the one rule of src/core/workspace-paths. */
export const workspacePath = z
  .string()
  .min(1)
  .max(4096)
  .superRefine((p, ctx) => {
    const reason = unsafePathReason(p);
    if (reason) ctx.addIssue({ code: "custom", message: `must be a relative path inside the workspace (${reason})` });
  });

export const MAX_WRITE_BYTES = 8 * 1024 * 1024;

export const fileEncoding = z.enum(["utf8", "base64"]).default("utf8");

export const listLimit = z.number().int().min(1).max(500).default(100);
