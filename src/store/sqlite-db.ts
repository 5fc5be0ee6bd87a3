/**
 * Opening the embedded state file: folder creation, pragmas, migrations, and the two helpers
 * every SQLite query goes through.
 *
 * WAL lets readers run beside one writer; busy_timeout makes a second process wait for the write
 * lock instead of failing at once. Every read-modify-write runs in a BEGIN IMMEDIATE transaction:
 * the write lock is taken before the read, so two processes can never both read a free lease and
 * both take it (a deferred transaction would upgrade late and fail with SQLITE_BUSY instead).
 */
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { StorageError, TorporError } from "../core/errors";
import { migrate } from "./sqlite-schema";

export const BUSY_TIMEOUT_MS = 5000;

export interface SqliteDb {
  db: Database.Database;
  file: string;
  /** Runs `fn` in a BEGIN IMMEDIATE transaction; SQLite errors become StorageErrors. */
  write<T>(fn: () => T): T;
  /** Runs `fn` outside a transaction (one statement, or reads that need no snapshot). */
  read<T>(fn: () => T): T;
}

function classify(error: unknown, file: string): unknown {
  if (error instanceof TorporError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("SQLITE_")) {
    const transient = code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
    return new StorageError(
      transient ? "STORAGE_TRANSIENT" : "STORAGE_PERMANENT",
      `State file '${file}': ${(error as Error).message}`,
      { cause: error, details: { file, sqliteCode: code } },
    );
  }
  return error;
}

export function openSqliteDb(file: string): SqliteDb {
  const resolved = path.resolve(file);
  let db: Database.Database;
  try {
    mkdirSync(path.dirname(resolved), { recursive: true, mode: 0o700 });
    db = new Database(resolved);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    // 0600: the state file and its WAL hold every tenant's sessions (SQLite gives new files 0644).
    for (const f of [resolved, `${resolved}-wal`, `${resolved}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    db.pragma("synchronous = NORMAL");
  } catch (error) {
    throw new StorageError("STORAGE_PERMANENT", `Cannot open state file '${resolved}'`, {
      cause: error,
      details: { file: resolved },
    });
  }
  try {
    migrate(db, resolved);
  } catch (error) {
    db.close();
    throw classify(error, resolved);
  }
  return {
    db,
    file: resolved,
    write<T>(fn: () => T): T {
      try {
        return db.transaction(fn).immediate();
      } catch (error) {
        throw classify(error, resolved);
      }
    },
    read<T>(fn: () => T): T {
      try {
        return fn();
      } catch (error) {
        throw classify(error, resolved);
      }
    },
  };
}
