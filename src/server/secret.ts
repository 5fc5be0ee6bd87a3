/**
 * The auth secret the API verifies tokens with: TORPOR_AUTH_SECRET when set. On the embedded
 * default (SQLite store) with no secret set, one is generated once and kept in the data dir
 * (`auth-secret`, mode 0600), so a restart keeps issued tokens valid. With a cloud store the
 * secret must be set: instances of a deployment share no disk.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "../core/config";
import { ConfigError } from "../core/errors";
import { generateSecret } from "./auth";

export function secretFile(config: Config): string {
  return path.join(config.dataDir, "auth-secret");
}

export function resolveAuthSecret(config: Config): { secret: string; generated: boolean; file: string | null } {
  if (config.auth.secret !== undefined) return { secret: config.auth.secret, generated: false, file: null };
  if (config.stateStore.kind !== "sqlite") {
    throw new ConfigError("Invalid setting TORPOR_AUTH_SECRET: required (32+ characters) when the state store is not the embedded SQLite", {
      details: { variable: "TORPOR_AUTH_SECRET" },
    });
  }
  const file = secretFile(config);
  try {
    const existing = readFileSync(file, "utf8").trim();
    if (existing.length >= 32) return { secret: existing, generated: false, file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const secret = generateSecret();
  // "wx": if two processes race, the second fails instead of overwriting the first one's secret.
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return resolveAuthSecret(config);
    throw error;
  }
  return { secret, generated: true, file };
}
