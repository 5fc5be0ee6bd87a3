/**
 * Workspace-relative paths: the only form of path a provider accepts or returns.
 *
 * A workspace path is "/"-separated, relative to the workspace folder (/workspace inside the
 * sandbox), without "." or ".." segments, empty segments or NUL bytes. "" (or ".") means the
 * workspace itself. Anything else is refused with SandboxError("UNSAFE_PATH"), before any I/O,
 * so that no caller (a checkpoint manifest, a tar entry, an API request) can name a file outside.
 */
import { SandboxError } from "../core/errors";
import { unsafePathReason } from "../core/workspace-paths";
import { WORKSPACE_DIR } from "./types";

/**
 * Checks and normalises a workspace path: strips one leading "./" and trailing "/", then refuses
 * absolute paths, "..", ".", empty segments, backslashes-as-separators are kept as names.
 * Returns "" for the workspace itself.
 */
export function workspacePath(input: string, what = "path"): string {
  if (typeof input !== "string") {
    throw new SandboxError("UNSAFE_PATH", `The ${what} is not a string`, { details: { path: String(input) } });
  }
  if (input.includes("\0")) refuse(input, what, "contains a NUL byte");
  let p = input;
  if (p === "." || p === "./" || p === "") return "";
  if (p.startsWith("/")) refuse(input, what, "is absolute");
  if (p.startsWith("./")) p = p.slice(2);
  while (p.endsWith("/")) p = p.slice(0, -1);
  if (p === "") return "";
  for (const segment of p.split("/")) {
    if (segment === "..") refuse(input, what, "contains '..'");
    if (segment === "" || segment === ".") refuse(input, what, "has an empty or '.' segment");
  }
  // The rest of the one rule (drive letters, name and path lengths): src/core/workspace-paths.
  const reason = unsafePathReason(p);
  if (reason) refuse(input.length > 80 ? `${input.slice(0, 80)}…` : input, what, `is not a workspace path (${reason})`);
  return p;
}

function refuse(input: string, what: string, why: string): never {
  throw new SandboxError("UNSAFE_PATH", `Refused ${what} '${input}': it ${why}; paths must stay inside ${WORKSPACE_DIR}`, {
    details: { path: input },
  });
}

/** The parent folders of a workspace path, outermost first: "a/b/c" → ["a", "a/b"]. */
export function parentsOf(p: string): string[] {
  const parts = p.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

/** Quotes one argument for a POSIX shell. */
export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Mtime in seconds with fraction, as tar's pax "mtime" record carries it (sub-second precision). */
export function paxMtime(mtimeMs: number): string {
  return (mtimeMs / 1000).toFixed(6);
}

/** The mtime of a tar header in milliseconds, preferring the pax record's sub-second value. */
export function headerMtimeMs(header: { mtime?: Date; pax?: Record<string, string> | null }): number {
  const pax = header.pax?.mtime;
  if (pax !== undefined && /^\d+(\.\d+)?$/.test(pax)) return Math.round(Number(pax) * 1000);
  return header.mtime ? header.mtime.getTime() : Date.now();
}
