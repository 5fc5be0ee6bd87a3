/**
 * The StateStore port and its adapters. `openStateStore` picks the adapter from validated config:
 * SQLite (embedded default) or Convex (production).
 */
import type { Config } from "../core/config";
import { assertNever } from "../core/errors";
import { openSqliteStore } from "./sqlite";
import type { StateStore } from "./types";

export * from "./types";
export { openSqliteStore } from "./sqlite";

export function openStateStore(config: Config["stateStore"]): StateStore {
  switch (config.kind) {
    case "sqlite":
      return openSqliteStore({ file: config.file });
    case "convex":
      throw new Error("convex adapter not built yet");
    default:
      return assertNever(config, "state store kind");
  }
}
