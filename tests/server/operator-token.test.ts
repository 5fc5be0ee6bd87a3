/**
 * The operator token Torpor issues on start lives in <data dir>/operator-token (0600) and is
 * accepted only while it is the one in that file: rotation or deletion revokes it at once, a host
 * app's own operator tokens (no `otk` claim) are not affected.
 */
import { mkdtempSync, rmSync, statSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { signToken } from "../../src/server/auth";
import { createContext, type ApiDeps } from "../../src/server/context";
import { ensureOperatorToken, operatorTokenFile, rotateOperatorToken } from "../../src/server/operator-token";

const SECRET = "s".repeat(40);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "torpor-optoken-"));
  dirs.push(dir);
  const config = loadConfig({ TORPOR_DATA_DIR: dir });
  const deps = { config } as unknown as ApiDeps;
  /** Who the API sees for this bearer token (or why it refuses it). */
  const who = async (token: string) => {
    const ctx = await createContext({ req: new Request("http://x/api/trpc", { headers: { authorization: `Bearer ${token}` } }), deps, authSecret: SECRET });
    return ctx.principal?.role ?? ctx.authError;
  };
  return { dir, config, who };
}

describe("the operator token Torpor issues", () => {
  it("is written to a 0600 file in the data dir, and the same token is kept across starts", async () => {
    const { config, who } = setup();
    const first = await ensureOperatorToken(config, SECRET);
    expect(first.generated).toBe(true);
    expect(first.file).toBe(path.join(config.dataDir, "operator-token"));
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.file, "utf8").trim()).toBe(first.token);
    expect(first.expiresAt - Date.now() / 1000).toBeGreaterThan(29 * 24 * 3600);
    const again = await ensureOperatorToken(config, SECRET);
    expect([again.generated, again.token]).toEqual([false, first.token]);
    expect(await who(first.token)).toBe("operator");
  });

  it("is refused once rotated; the new one works", async () => {
    const { config, who } = setup();
    const old = await ensureOperatorToken(config, SECRET);
    const next = await rotateOperatorToken(config, SECRET);
    expect(next.token).not.toBe(old.token);
    expect(await who(old.token)).toMatch(/revoked/);
    expect(await who(next.token)).toBe("operator");
  });

  it("is refused once its file is deleted, and a new one is generated in its place", async () => {
    const { config, who } = setup();
    const old = await ensureOperatorToken(config, SECRET);
    rmSync(operatorTokenFile(config));
    expect(await who(old.token)).toMatch(/revoked/);
    const next = await ensureOperatorToken(config, SECRET);
    expect(next.generated).toBe(true);
    expect(await who(old.token)).toMatch(/revoked/);
    expect(await who(next.token)).toBe("operator");
  });

  it("is replaced when the secret changed (it no longer verifies), and host-minted operator tokens stay valid", async () => {
    const { config, who } = setup();
    const other = await ensureOperatorToken(config, "o".repeat(40));
    const mine = await ensureOperatorToken(config, SECRET);
    expect(mine.generated).toBe(true);
    expect(mine.token).not.toBe(other.token);
    const hostMinted = await signToken(SECRET, { userId: "ops", role: "operator" }, { expiresIn: "1h" });
    expect(await who(hostMinted)).toBe("operator");
    rmSync(operatorTokenFile(config));
    expect(await who(hostMinted)).toBe("operator");
  });
});
