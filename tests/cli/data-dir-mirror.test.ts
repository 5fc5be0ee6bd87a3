/**
 * The CLI's data dir found as the app finds it (TORPOR_DATA_DIR, ./.torpor-data, the package's
 * .torpor-data; an error naming where it looked), and `restore --mirror`: the folder becomes the
 * checkpoint (extra files and folders deleted, ignored paths kept), where --force keeps merging.
 * Real processes of bin/torpor against s3rver, and in embedded mode from another folder.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findDataDir, requireDataDir } from "../../src/cli/data-dir";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { readTree, tempDir, writeTree } from "../checkpoint/tree";

const BIN = path.resolve(__dirname, "../../bin/torpor");
let s3: TestS3;
const cleanup: string[] = [];

async function torpor(args: string[], env: Record<string, string>, cwd?: string) {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
  const result = await promisify(execFile)(BIN, args, { cwd, env: { ...base, ...env } as unknown as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }),
  );
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(result.stdout.trim().split("\n").pop() ?? "");
  } catch {
    // not JSON output
  }
  return { ...result, json };
}
const dir = async (label: string) => {
  const d = await tempDir(label);
  cleanup.push(d);
  return d;
};
const remote = () => ({
  TORPOR_OBJECT_STORE: "s3", S3_ENDPOINT: s3.endpoint, S3_BUCKET: s3.bucket,
  AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, TORPOR_IGNORE: "node_modules",
});

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

describe("restore --mirror", () => {
  it("deletes what the checkpoint does not hold and keeps ignored paths; --force keeps merging", async () => {
    const ws = await dir("mirror-ws");
    await writeTree(ws, { "src/a.ts": "a\n", "src/deep/b.ts": "b\n", "link": { link: "src/a.ts" }, "empty": { dir: true } });
    const snap = await torpor(["snapshot", ws, "--json"], remote());
    expect(snap.code, snap.stderr).toBe(0);
    const id = snap.json.checkpoint as string;

    const extras = { "extra.txt": "stale", "old/dir/x.txt": "stale", "src/deep/gone.ts": "stale", "src/a.ts": "edited\n", "node_modules/dep/index.js": "kept", "stale-link": { link: "/etc/passwd" } };
    const merged = await dir("mirror-force");
    await writeTree(merged, extras);
    const forced = await torpor(["restore", id, merged, "--force"], remote());
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(path.join(merged, "extra.txt"), "utf8")).toBe("stale");
    expect(await readFile(path.join(merged, "src/a.ts"), "utf8")).toBe("a\n");

    const mirrored = await dir("mirror-out");
    await writeTree(mirrored, extras);
    const run = await torpor(["restore", id, mirrored, "--mirror", "--json"], remote());
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.deleted).toEqual(["extra.txt", "old", "src/deep/gone.ts", "stale-link"]);
    const tree = await readTree(mirrored);
    expect(tree["node_modules/dep/index.js"]).toBeDefined();
    delete tree["node_modules"];
    delete tree["node_modules/dep"];
    delete tree["node_modules/dep/index.js"];
    expect(tree).toEqual(await readTree(ws));
    expect(existsSync("/etc/passwd")).toBe(true);

    const both = await torpor(["restore", id, mirrored, "--mirror", "--force"], remote());
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("not both");
  });
});

describe("the CLI's data dir", () => {
  it("prefers TORPOR_DATA_DIR, then ./.torpor-data, then the package's; names where it looked when none exists", async () => {
    const cwd = await dir("dd-cwd");
    const pkg = await dir("dd-pkg");
    expect(findDataDir({ TORPOR_DATA_DIR: "rel" }, cwd, pkg)).toEqual({ dir: path.join(cwd, "rel"), looked: [], fromEnv: true });
    const none = findDataDir({}, cwd, pkg);
    expect(none.dir).toBeNull();
    expect(() => requireDataDir(none)).toThrow(`No Torpor data dir: looked in ${path.join(cwd, ".torpor-data")} and ${path.join(pkg, ".torpor-data")}; set TORPOR_DATA_DIR`);
    await mkdir(path.join(pkg, ".torpor-data"));
    expect(findDataDir({}, cwd, pkg).dir).toBe(path.join(pkg, ".torpor-data"));
    await mkdir(path.join(cwd, ".torpor-data"));
    expect(findDataDir({}, cwd, pkg).dir).toBe(path.join(cwd, ".torpor-data"));
  });

  it("embedded mode without TORPOR_DATA_DIR uses the .torpor-data of the folder it runs in", async () => {
    // As `npm start` run from this folder would have left it.
    const cwd = await dir("dd-run");
    await mkdir(path.join(cwd, ".torpor-data"));
    const ws = await dir("dd-ws");
    await writeFile(path.join(ws, "f.txt"), "x");
    const snap = await torpor(["snapshot", ws, "--json"], {}, cwd);
    expect(snap.code, snap.stderr).toBe(0);
    expect(existsSync(path.join(cwd, ".torpor-data", "s3"))).toBe(true);
    const ls = await torpor(["ls", "--json"], {}, cwd);
    expect((ls.json.checkpoints as { id: string }[]).map((c) => c.id)).toEqual([snap.json.checkpoint]);
  });
});
