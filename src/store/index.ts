/**
 * The StateStore port and its adapters. `openStateStore` picks the adapter from validated config:
 * SQLite (the embedded default) or Convex (production).
 */
import type { Config } from "../core/config";
import { assertNever } from "../core/errors";
import { createConvexStore } from "./convex";
import { openSqliteStore } from "./sqlite";
import type { StateStore } from "./types";

export * from "./types";
export { openSqliteStore } from "./sqlite";
export { createConvexStore, type ConvexClientLike, type ConvexStoreOptions } from "./convex";

export function openStateStore(config: Config["stateStore"]): StateStore {
  switch (config.kind) {
    case "sqlite":
      return openSqliteStore({ file: config.file });
    case "convex":
      return createConvexStore({ url: config.url, secret: config.secret });
    default:
      return assertNever(config, "state store kind");
  }
}
