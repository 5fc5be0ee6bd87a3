/** Bearer tokens (HS256 JWT) and the embedded default's generated secret. */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { bearerToken, signToken, verifyToken } from "../../src/server/auth";
import { createContext, type ApiDeps } from "../../src/server/context";
import { createCaller } from "../../src/server/routers";
import { resolveAuthSecret } from "../../src/server/secret";

const SECRET = "s".repeat(40);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("tokens", () => {
  it("round-trips the user id and role", async () => {
    const token = await signToken(SECRET, { userId: "u1", role: "operator" }, { expiresIn: "1h" });
    expect(await verifyToken(SECRET, token)).toEqual({ userId: "u1", role: "operator" });
  });

  it("refuses a wrong secret, an expired token, a bad role and another algorithm", async () => {
    const good = await signToken(SECRET, { userId: "u1", role: "user" });
    await expect(verifyToken("x".repeat(40), good)).rejects.toThrow(/signature does not match TORPOR_AUTH_SECRET/);
    const key = new TextEncoder().encode(SECRET);
    const expired = await new SignJWT({ role: "user" }).setProtectedHeader({ alg: "HS256" }).setSubject("u1")
      .setIssuer("torpor").setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    await expect(verifyToken(SECRET, expired)).rejects.toThrow(/expired/);
    const admin = await new SignJWT({ role: "admin" }).setProtectedHeader({ alg: "HS256" }).setSubject("u1").setIssuer("torpor").sign(key);
    await expect(verifyToken(SECRET, admin)).rejects.toThrow(/role must be/);
    const hs512 = await new SignJWT({ role: "user" }).setProtectedHeader({ alg: "HS512" }).setSubject("u1").setIssuer("torpor").sign(key);
    await expect(verifyToken(SECRET, hs512)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(verifyToken(SECRET, "garbage")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("reads the bearer header", () => {
    expect(bearerToken("Bearer abc.def")).toBe("abc.def");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken(null)).toBeUndefined();
  });

  it("the HTTP context reports why a request is unauthenticated", async () => {
    const deps = { config: loadConfig({}) } as unknown as ApiDeps;
    const call = async (headers: Record<string, string>) => {
      const ctx = await createContext({ req: new Request("http://x/api/trpc", { headers }), deps, authSecret: SECRET });
      return createCaller(ctx).sessions.list().catch((e: Error) => e.message);
    };
    expect(await call({})).toBe("Unauthorized: send Authorization: Bearer <token>");
    const forged = await signToken("f".repeat(40), { userId: "u", role: "operator" });
    expect(await call({ authorization: `Bearer ${forged}` })).toMatch(/signature does not match/);
  });
});

describe("resolveAuthSecret", () => {
  it("uses TORPOR_AUTH_SECRET when set", () => {
    expect(resolveAuthSecret(loadConfig({ TORPOR_AUTH_SECRET: SECRET }))).toEqual({ secret: SECRET, generated: false, file: null });
  });

  it("generates one secret in the data dir on the embedded default and keeps it", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "torpor-auth-"));
    dirs.push(dir);
    const config = loadConfig({ TORPOR_DATA_DIR: dir });
    const first = resolveAuthSecret(config);
    expect(first.generated).toBe(true);
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(first.file!, "utf8").trim()).toBe(first.secret);
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    const second = resolveAuthSecret(config);
    expect(second).toEqual({ secret: first.secret, generated: false, file: first.file });
  });

  it("requires TORPOR_AUTH_SECRET with a cloud store", () => {
    const config = loadConfig({ CONVEX_URL: "https://x.convex.cloud", TORPOR_CONVEX_SECRET: "c".repeat(20) });
    expect(() => resolveAuthSecret(config)).toThrow(/TORPOR_AUTH_SECRET/);
  });
});
