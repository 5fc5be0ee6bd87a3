/**
 * The shell commands the E2B adapter runs inside a sandbox, and the parsers of their output.
 * Kept pure (strings in, values out) so they are tested without a sandbox.
 *
 * Lists of paths travel NUL-separated in one uploaded file, never on the command line (no
 * ARG_MAX limit, no quoting of hostile names); outputs are NUL-separated for the same reason.
 */
import type { ScanEntry } from "../../core/workspace";
import { shellQuote } from "../paths";
import { WORKSPACE_DIR } from "../types";

export function absolute(rel: string): string {
  return rel === "" ? WORKSPACE_DIR : `${WORKSPACE_DIR}/${rel}`;
}

/** Type, mode, size, mtime, path (relative to the start folder), then the link target. */
export function scanCommand(dir: string): string {
  const start = shellQuote(absolute(dir));
  return `[ -d ${start} ] || exit 0; find ${start} -mindepth 1 -printf '%y %m %s %T@ %P\\0%l\\0'`;
}

export function parseScan(output: string, dir: string): ScanEntry[] {
  const parts = output.split("\0");
  const entries: ScanEntry[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const head = parts[i]!;
    const target = parts[i + 1]!;
    const match = /^(\S) ([0-7]+) (\d+) (\d+(?:\.\d+)?) (.+)$/s.exec(head);
    if (!match) continue;
    const [, kind, mode, size, mtime, rel] = match;
    const type = kind === "f" ? "file" : kind === "d" ? "dir" : kind === "l" ? "symlink" : null;
    if (type === null) continue; // sockets, fifos, devices are not workspace content
    const entry: ScanEntry = {
      path: dir === "" ? rel! : `${dir}/${rel!}`,
      type,
      // Stripped as on the local provider: a manifest never carries setuid/setgid/sticky bits.
      mode: parseInt(mode!, 8) & 0o777,
      size: type === "dir" ? 0 : Number(size),
      mtimeMs: Math.round(Number(mtime) * 1000),
    };
    if (type === "symlink") entry.target = target;
    entries.push(entry);
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** SHA-256 of every regular file named in the NUL-separated list file. */
export function hashCommand(listFile: string): string {
  const list = shellQuote(listFile);
  return `cd ${WORKSPACE_DIR} && xargs -0 -r sha256sum -z -- < ${list} 2>/dev/null; rm -f ${list}; exit 0`;
}

export function parseHashes(output: string, wanted: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of output.split("\0")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/s.exec(line);
    if (match && wanted.has(match[2]!)) out[match[2]!] = match[1]!;
  }
  return out;
}

/** One archive of the listed paths (no recursion into folders; hard links stored as files). */
export function exportCommand(listFile: string, archive: string): string {
  return (
    `tar -c --format=posix --no-recursion --hard-dereference --ignore-failed-read -C ${WORKSPACE_DIR} ` +
    `--null -T ${shellQuote(listFile)} -f ${shellQuote(archive)} 2>/dev/null; rm -f ${shellQuote(listFile)}; ` +
    `[ -f ${shellQuote(archive)} ]`
  );
}

/** Extracts an archive already checked by the adapter, then removes it. */
export function importCommand(archive: string): string {
  const a = shellQuote(archive);
  return `tar -x -p --no-same-owner --delay-directory-restore -C ${WORKSPACE_DIR} -f ${a}; status=$?; rm -f ${a}; exit $status`;
}

/** Existing symlinks in the workspace (NUL-separated, relative), for the import's escape check. */
export const LIST_SYMLINKS = `find ${WORKSPACE_DIR} -mindepth 1 -type l -printf '%P\\0'`;

/** Run as root once after create: the template's default user ("user") owns /workspace. */
export const PREPARE_WORKSPACE = `mkdir -p ${WORKSPACE_DIR} && chown user:user ${WORKSPACE_DIR}`;
