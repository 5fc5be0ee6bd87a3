/**
 * The data dir is private to the user Torpor runs as: 0700 (made so, or tightened when it already
 * exists), so no other local user reaches the state file, the auth secret, the object store's
 * files or a sandbox's workspace, whatever their own modes. Files Torpor creates in it get 0600
 * explicitly (secret.ts, the SQLite file and its WAL in store/sqlite-db.ts, sandbox state files)
 * rather than through a process-wide umask: a restore must give workspace files the modes their
 * checkpoint recorded, and a umask of 077 would silently strip them.
 */
import { chmodSync, mkdirSync } from "node:fs";

export const DATA_DIR_MODE = 0o700;

export function secureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  chmodSync(dir, DATA_DIR_MODE); // mkdir leaves an existing folder's mode alone
}
