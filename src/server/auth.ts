/**
 * Bearer tokens for the tRPC API and the dashboard: HS256 JWTs whose `sub` is the user id and
 * whose `role` claim is "user" or "operator". The host app mints them with the shared secret
 * (TORPOR_AUTH_SECRET); Torpor only verifies. A user sees and changes only their own sessions,
 * an operator every session.
 */
import { randomBytes } from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { AuthError } from "../core/errors";

export const ROLES = ["user", "operator"] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  userId: string;
  role: Role;
  /** Set on the operator tokens Torpor issues itself (claim `otk`): valid only while current (operator-token.ts). */
  operatorTokenId?: string;
}

const ISSUER = "torpor";

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Mints a token; `expiresIn` takes jose's forms ("12h", "30d") or seconds. Omit for no expiry. */
export async function signToken(
  secret: string,
  principal: Principal,
  options: { expiresIn?: string | number } = {},
): Promise<string> {
  const claims = principal.operatorTokenId === undefined ? { role: principal.role } : { role: principal.role, otk: principal.operatorTokenId };
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(principal.userId)
    .setIssuer(ISSUER)
    .setIssuedAt();
  if (options.expiresIn !== undefined) jwt = jwt.setExpirationTime(options.expiresIn);
  return jwt.sign(key(secret));
}

/** Verifies signature, algorithm, issuer and expiry; throws AuthError("UNAUTHORIZED") naming what is wrong. */
export async function verifyToken(secret: string, token: string): Promise<Principal> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key(secret), { algorithms: ["HS256"], issuer: ISSUER }));
  } catch (error) {
    const reason =
      error instanceof joseErrors.JWTExpired
        ? "the token has expired"
        : error instanceof joseErrors.JWSSignatureVerificationFailed
          ? "the token's signature does not match TORPOR_AUTH_SECRET"
          : "the token is not a valid Torpor token";
    throw new AuthError("UNAUTHORIZED", `Unauthorized: ${reason}`, { cause: error });
  }
  const role = payload.role;
  if (typeof payload.sub !== "string" || payload.sub === "") {
    throw new AuthError("UNAUTHORIZED", "Unauthorized: the token has no subject (user id)");
  }
  if (role !== "user" && role !== "operator") {
    throw new AuthError("UNAUTHORIZED", `Unauthorized: the token's role must be "user" or "operator"`);
  }
  return typeof payload.otk === "string" ? { userId: payload.sub, role, operatorTokenId: payload.otk } : { userId: payload.sub, role };
}

/** The token in an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** A fresh secret for the embedded default (256 bits, URL-safe). */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}
