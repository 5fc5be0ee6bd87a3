/**
 * A plain `next start` (a host without Torpor's start command): the first request builds the
 * runtime inside Next's server bundle (app/_server/host.ts). A session hibernates there (its
 * checkpoint compressed on the zstd worker threads, which must find their native binding from
 * inside the bundle) and resumes with every file as it was.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTorporClient, type TorporClient } from "../../src/client";
import { signToken } from "../../src/server/auth";
import { ensureBuilt, waitFor } from "../helpers/app";

const SECRET = "e2e-next-start-secret-".padEnd(40, "x");
let dataDir: string;
let child: ChildProcess | undefined;
let output = "";
let client: TorporClient;

beforeAll(async () => {
  ensureBuilt();
  dataDir = mkdtempSync(path.join(os.tmpdir(), "torpor-next-start-"));
  child = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "-p", "0", "-H", "127.0.0.1"], {
    env: {
      ...process.env,
      NODE_OPTIONS: "--openssl-legacy-provider",
      NEXT_TELEMETRY_DISABLED: "1",
      TORPOR_DATA_DIR: dataDir,
      TORPOR_AUTH_SECRET: SECRET,
      TORPOR_BWRAP: "auto",
      // Small enough that the big file below is a large blob: both compression paths run.
      TORPOR_SMALL_FILE_BYTES: "4096",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = await waitFor("next start to listen", async () => /Local:\s+(http:\/\/\S+)/.exec(output)?.[1], (u) => u !== undefined, { timeoutMs: 60_000 });
  client = createTorporClient({ url: url!, token: await signToken(SECRET, { userId: "operator", role: "operator" }) });
}, 300_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

it("hibernates and resumes a session through the runtime in Next's bundle", async () => {
  const state = async (sessionId: string) => (await client.sessions.get.query({ sessionId })).state;
  const created = await client.sessions.create.mutate({});
  await waitFor("the session to run", () => state(created.id), (s) => s === "running", { timeoutMs: 60_000 });
  const big = Array.from({ length: 20_000 }, (_, i) => `line ${i}: ${(i * 7919) % 10007}`).join("\n");
  const files: Record<string, string> = { "big.txt": big, "src/index.ts": "export const answer = 42;\n" };
  for (const [p, content] of Object.entries(files)) await client.files.write.mutate({ sessionId: created.id, path: p, content });

  await client.sessions.hibernateNow.mutate({ sessionId: created.id });
  await waitFor("the session to be paused", () => state(created.id), (s) => s === "paused" || s === "failed", { timeoutMs: 120_000 });
  const paused = await client.sessions.get.query({ sessionId: created.id });
  expect(paused.state, output.slice(-3000)).toBe("paused");
  expect(paused.latestCheckpointId).toMatch(/^cp_/);

  await client.sessions.resume.mutate({ sessionId: created.id });
  await waitFor("the session to run again", () => state(created.id), (s) => s === "running", { timeoutMs: 120_000 });
  for (const [p, content] of Object.entries(files)) {
    expect((await client.files.read.query({ sessionId: created.id, path: p })).content).toBe(content);
  }
}, 300_000);
