/**
 * The torpor CLI as real processes: snapshot, restore, verify, ls and gc with --json against
 * s3rver (remote "s3" mode) and in embedded mode (the CLI starts its own server over the data dir),
 * and one clear line for each failure: missing checkpoint, missing bucket, wrong credentials,
 * non-empty target, usage errors.
 */
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { noise, readTree, tempDir, writeTree } from "../checkpoint/tree";

const BIN = path.resolve(__dirname, "../../bin/torpor");
let s3: TestS3;
let workspace: string;
const cleanup: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

async function torpor(args: string[], env: Record<string, string>): Promise<Run> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
  const result = await promisify(execFile)(BIN, args, { env: { ...base, ...env } as unknown as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }),
  );
  const lastLine = result.stdout.trim().split("\n").pop() ?? "";
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(lastLine);
  } catch {
    // not JSON output
  }
  return { ...result, json };
}

const remote = () => ({
  TORPOR_OBJECT_STORE: "s3",
  S3_ENDPOINT: s3.endpoint,
  S3_BUCKET: s3.bucket,
  AWS_ACCESS_KEY_ID: s3.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  TORPOR_DATA_DIR: path.join(workspace, "..", "unused-data"),
});

async function dir(label: string): Promise<string> {
  const d = await tempDir(label);
  cleanup.push(d);
  return d;
}

beforeAll(async () => {
  s3 = await startTestS3();
  workspace = await dir("cli-ws");
  await writeTree(workspace, {
    "src/index.ts": "export {};\n",
    "bin/go": { content: "#!/bin/sh\n", mode: 0o755 },
    "data.bin": noise(2 * 1024 * 1024, 4),
    "link": { link: "src/index.ts" },
    "ünï.txt": "x",
  });
});
afterAll(async () => {
  await s3.close();
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

describe("torpor CLI against an S3 endpoint", () => {
  let checkpoint = "";

  it("snapshot --json prints the checkpoint and its counts as the last line", async () => {
    const run = await torpor(["snapshot", workspace, "--json"], remote());
    expect(run.stderr).toBe("");
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ files: 4, bytes: 2 * 1024 * 1024 + 11 + 10 + 1 });
    expect(typeof run.json.checkpoint).toBe("string");
    expect(run.json.uploadedBytes).toBeGreaterThan(0);
    expect(typeof run.json.seconds).toBe("number");
    checkpoint = run.json.checkpoint as string;
  });

  it("snapshot --parent reuses unchanged files", async () => {
    await writeFile(path.join(workspace, "src/new.ts"), "new\n");
    const run = await torpor(["snapshot", workspace, "--parent", checkpoint, "--json"], remote());
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ parent: checkpoint, files: 5, reusedFiles: 4 });
    expect(run.json.uploadedBytes).toBeLessThan(10_000);
  });

  it("restore --json rebuilds the folder; verify, ls and gc report as JSON", async () => {
    await rm(path.join(workspace, "src/new.ts"));
    const out = path.join(await dir("cli-out"), "restored");
    const run = await torpor(["restore", checkpoint, out, "--json"], remote());
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ files: 4, bytes: 2 * 1024 * 1024 + 22 });
    expect(await readTree(out)).toEqual(await readTree(workspace));

    const verify = await torpor(["verify", checkpoint, "--json"], remote());
    expect(verify.json).toMatchObject({ ok: true, files: 4, problems: [] });
    const ls = await torpor(["ls", "--json"], remote());
    expect((ls.json.checkpoints as { id: string }[]).map((c) => c.id)).toContain(checkpoint);
    const gc = await torpor(["gc", "--json"], remote());
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.json).toMatchObject({ deletedObjects: 0 });
  });

  it("refuses a non-empty target with one line, and restores over it with --force", async () => {
    const out = await dir("cli-nonempty");
    await writeFile(path.join(out, "keep.txt"), "mine");
    const refused = await torpor(["restore", checkpoint, out], remote());
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain("not empty");
    const forced = await torpor(["restore", checkpoint, out, "--force"], remote());
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(path.join(out, "keep.txt"), "utf8")).toBe("mine");
  });

  it("a missing checkpoint id, a missing bucket and wrong credentials each give one clear line", async () => {
    const missing = await torpor(["restore", "cp_0000000000000000000000000000000000000", await dir("m")], remote());
    const noBucket = await torpor(["ls"], { ...remote(), S3_BUCKET: "no-such-bucket" });
    const badKeys = await torpor(["ls", "--json"], { ...remote(), AWS_ACCESS_KEY_ID: "WRONG", AWS_SECRET_ACCESS_KEY: "WRONG" });
    for (const run of [missing, noBucket, badKeys]) {
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(missing.stderr).toMatch(/^torpor: No checkpoint 'cp_0+'/);
    expect(noBucket.stderr).toContain("Bucket 'no-such-bucket' does not exist");
    expect(badKeys.stderr).toMatch(/refused the credentials|check the credentials/);
    expect(badKeys.json).toMatchObject({ error: { code: "STORAGE_PERMANENT" } });
  });

  it("usage errors and invalid settings exit non-zero with a message", async () => {
    const usage = await torpor(["restore", "only-one-arg"], remote());
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("needs <id> <dir>");
    const badSetting = await torpor(["ls"], { ...remote(), TORPOR_CONCURRENCY: "zero" });
    expect(badSetting.code).toBe(1);
    expect(badSetting.stderr).toContain("TORPOR_CONCURRENCY");
  });
});

describe("torpor CLI in embedded mode", () => {
  it("starts its own S3 server over the data dir: snapshot, then ls and restore in later processes", async () => {
    const data = await dir("cli-data");
    const env = { TORPOR_DATA_DIR: data };
    const snap = await torpor(["snapshot", workspace, "--json"], env);
    expect(snap.code, snap.stderr).toBe(0);
    const ls = await torpor(["ls", "--json"], env);
    expect((ls.json.checkpoints as { id: string }[])[0]?.id).toBe(snap.json.checkpoint);
    const out = path.join(data, "..", `${path.basename(data)}-out`);
    cleanup.push(out);
    const restore = await torpor(["restore", snap.json.checkpoint as string, out, "--json"], env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(await readTree(out)).toEqual(await readTree(workspace));
  });
});
