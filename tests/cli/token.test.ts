/**
 * The operator token end to end: the start command (dist/start.mjs) keeps it in a 0600 file and
 * never prints it; `torpor token rotate` (bin/torpor) revokes it, the running app writes the next
 * one within seconds, and the API refuses the old token from then on. (The API check is the one
 * the app's route runs, called in-process on the same data dir: the Next bundle is not rebuilt here.)
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { createContext, type ApiDeps } from "../../src/server/context";
import { resolveAuthSecret } from "../../src/server/secret";
import { OPERATOR_TOKEN_NAME } from "../../src/cli/token";
import { OPERATOR_TOKEN_NAME as SERVER_NAME } from "../../src/server/operator-token";
import { startApp, type RunningApp } from "../helpers/app";

const BIN = path.resolve(__dirname, "../../bin/torpor");
const dir = mkdtempSync(path.join(os.tmpdir(), "torpor-token-"));
let app: RunningApp | undefined;
afterAll(async () => {
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("operator token: start and torpor token rotate", () => {
  it("is in a 0600 file, never on stdout; rotate revokes it and the running app writes a new one", async () => {
    expect(OPERATOR_TOKEN_NAME).toBe(SERVER_NAME);
    app = await startApp({ TORPOR_DATA_DIR: dir });
    const file = path.join(dir, "operator-token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(app.token).toBe(readFileSync(file, "utf8").trim());
    expect(app.output()).not.toContain(app.token);
    expect(app.output()).toContain(`in ${file}`);

    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", TORPOR_DATA_DIR: dir };
    const run = await promisify(execFile)(BIN, ["token", "rotate", "--json"], { env: env as unknown as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 });
    expect(JSON.parse(run.stdout.trim().split("\n").pop()!)).toEqual({ file, revoked: true, replaced: true });
    const next = readFileSync(file, "utf8").trim();
    expect(next).not.toBe(app.token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(app.output()).toContain("Operator token replaced");
    expect(app.output()).not.toContain(next);

    const config = loadConfig({ TORPOR_DATA_DIR: dir });
    const secret = resolveAuthSecret(config).secret;
    const who = async (token: string) => {
      const ctx = await createContext({ req: new Request("http://x/api/trpc", { headers: { authorization: `Bearer ${token}` } }), deps: { config } as unknown as ApiDeps, authSecret: secret });
      return ctx.principal?.role ?? ctx.authError;
    };
    expect(await who(app.token)).toMatch(/revoked/);
    expect(await who(next)).toBe("operator");
  }, 180_000);
});
