/**
 * The one path form localfs accepts: a workspace path (src/core/workspace-paths has the rule),
 * "/"-separated and relative to the folder being read or written. "" (or ".") names the folder
 * itself. Anything else is refused with SandboxError("UNSAFE_PATH") before any I/O, so that no
 * caller (a manifest, a tar entry, an API request) can name a file outside the folder.
 * The sandbox providers check their inputs with the same function (src/sandbox/paths).
 */
import { SandboxError } from "../core/errors";
import { unsafePathReason } from "../core/workspace-paths";

/**
 * Checks and normalises a path: strips one leading "./" and trailing "/", then refuses absolute
 * paths, "..", ".", empty segments and the rest of the core rule. Returns "" for the folder itself.
 * `inside` names the folder in the refusal ("/workspace" for a sandbox).
 */
export function checkedPath(input: string, what = "path", inside = "the workspace folder"): string {
  if (typeof input !== "string") {
    throw new SandboxError("UNSAFE_PATH", `The ${what} is not a string`, { details: { path: String(input) } });
  }
  if (input.includes("\0")) refuse(input, what, "contains a NUL byte", inside);
  let p = input;
  if (p === "." || p === "./" || p === "") return "";
  if (p.startsWith("/")) refuse(input, what, "is absolute", inside);
  if (p.startsWith("./")) p = p.slice(2);
  while (p.endsWith("/")) p = p.slice(0, -1);
  if (p === "") return "";
  for (const segment of p.split("/")) {
    if (segment === "..") refuse(input, what, "contains '..'", inside);
    if (segment === "" || segment === ".") refuse(input, what, "has an empty or '.' segment", inside);
  }
  // The rest of the one rule (drive letters, name and path lengths): src/core/workspace-paths.
  const reason = unsafePathReason(p);
  if (reason) refuse(input.length > 80 ? `${input.slice(0, 80)}…` : input, what, `is not a workspace path (${reason})`, inside);
  return p;
}

function refuse(input: string, what: string, why: string, inside: string): never {
  throw new SandboxError("UNSAFE_PATH", `Refused ${what} '${input}': it ${why}; paths must stay inside ${inside}`, {
    details: { path: input },
  });
}
