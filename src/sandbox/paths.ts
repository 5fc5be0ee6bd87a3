/**
 * Workspace-relative paths: the only form of path a provider accepts or returns.
 *
 * A workspace path is "/"-separated, relative to the workspace folder (/workspace inside the
 * sandbox), without "." or ".." segments, empty segments or NUL bytes. "" (or ".") means the
 * workspace itself. Anything else is refused with SandboxError("UNSAFE_PATH"), before any I/O,
 * so that no caller (a checkpoint manifest, a tar entry, an API request) can name a file outside.
 */
import { checkedPath } from "../localfs/paths";
import { WORKSPACE_DIR } from "./types";

/**
 * Checks and normalises a workspace path (the rule and its refusals: src/localfs/paths), naming
 * /workspace in the refusal. Returns "" for the workspace itself.
 */
export function workspacePath(input: string, what = "path"): string {
  return checkedPath(input, what, WORKSPACE_DIR);
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
