/**
 * The operator token Torpor issues itself on start: kept in `<data dir>/operator-token` (0600),
 * never printed (a terminal's scrollback, a CI log or a process supervisor's journal would keep
 * it). The file is the token's record: a token Torpor issued (it carries the `otk` claim) is
 * accepted only while its id is the one in the file. So deleting the file, or replacing it
 * (`torpor token rotate`, or renewal a week before the 30-day expiry), revokes the old token at
 * once; a running server writes a new one within a few seconds, a stopped one at its next start.
 *
 * Operator tokens a host app mints with TORPOR_AUTH_SECRET carry no `otk` and are not affected:
 * rotating the secret is what revokes those. With several instances (a cloud store), each
 * instance's file is its own: mint operator tokens in the host app there.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeJwt } from "jose";
import type { Config } from "../core/config";
import { signToken, verifyToken } from "./auth";

export const OPERATOR_TOKEN_NAME = "operator-token";
const LIFETIME_S = 30 * 24 * 3600;
/** A token this close to its expiry is replaced at start (and by a running server's check). */
const RENEW_BEFORE_S = 7 * 24 * 3600;

export function operatorTokenFile(config: Config): string {
  return path.join(config.dataDir, OPERATOR_TOKEN_NAME);
}

export interface OperatorToken {
  token: string;
  file: string;
  /** Unix seconds. */
  expiresAt: number;
  /** True when this call wrote a new token (the previous one, if any, is revoked). */
  generated: boolean;
}

/** Writes a new token over the file (atomically: a reader sees the old token or the new one). */
export async function rotateOperatorToken(config: Config, secret: string): Promise<OperatorToken> {
  const file = operatorTokenFile(config);
  const expiresAt = Math.floor(Date.now() / 1000) + LIFETIME_S;
  const token = await signToken(secret, { userId: "operator", role: "operator", operatorTokenId: randomBytes(16).toString("base64url") }, { expiresIn: expiresAt });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { token, file, expiresAt, generated: true };
}

/** The current token, or a new one when there is none, it does not verify (another secret) or it expires within a week. */
export async function ensureOperatorToken(config: Config, secret: string): Promise<OperatorToken> {
  const file = operatorTokenFile(config);
  const token = readToken(file);
  if (token !== null) {
    const principal = await verifyToken(secret, token).catch(() => null);
    const exp = decodeJwt(token).exp ?? 0;
    if (principal?.role === "operator" && principal.operatorTokenId !== undefined && exp - Date.now() / 1000 > RENEW_BEFORE_S) {
      return { token, file, expiresAt: exp, generated: false };
    }
  }
  return rotateOperatorToken(config, secret);
}

function readToken(file: string): string | null {
  try {
    return readFileSync(file, "utf8").trim() || null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

// One stat per operator request; the file is read again only when it changed.
const cache = new Map<string, { stamp: string; id: string | null }>();

/** Whether `id` is the id of the token in the data dir's file now (no file: none is current). */
export function isCurrentOperatorToken(config: Config, id: string): boolean {
  const file = operatorTokenFile(config);
  let stamp: string;
  try {
    const st = statSync(file);
    stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
  } catch {
    return false;
  }
  let hit = cache.get(file);
  if (hit?.stamp !== stamp) {
    let current: string | null = null;
    try {
      const token = readToken(file);
      const otk = token === null ? undefined : decodeJwt(token).otk;
      current = typeof otk === "string" ? otk : null;
    } catch {
      current = null; // unreadable or not a JWT: nothing is current
    }
    hit = { stamp, id: current };
    cache.set(file, hit);
  }
  return hit.id === id;
}
