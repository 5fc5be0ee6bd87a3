/**
 * The filesystem adapter (the embedded default): the ObjectStore contract with and without a
 * prefix, S3's key order in listings, refused keys, all-or-nothing PUTs, its files private to the
 * user running Torpor (0700/0600; `nobody` reads nothing), and the s3rver layout both ways (a data
 * dir s3rver wrote is read as it is; `torpor s3-server` serves what this adapter wrote).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import { startEmbeddedS3 } from "../../src/objectstore/embedded-server";
import { classifyFsError } from "../../src/objectstore/fs-errors";
import { createFsObjectStore, prepareFsObjectStore } from "../../src/objectstore/fs";
import type { ObjectStore } from "../../src/objectstore/types";
import { createS3ObjectStore } from "../../src/objectstore/s3";
import { objectStoreContract } from "./contract";

const temps: string[] = [];
async function temp(label: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `torpor-fs-${label}-`));
  temps.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function openFs(root: string, prefix?: string): Promise<ObjectStore> {
  const options = { root, bucket: "torpor", prefix };
  await prepareFsObjectStore(options);
  return createFsObjectStore(options);
}

objectStoreContract("fs adapter", async () => ({ objects: await openFs(await temp("contract")), teardown: async () => {} }));
objectStoreContract("fs adapter, with a prefix", async () => ({
  objects: await openFs(await temp("contract-prefix"), "team-a/"),
  teardown: async () => {},
}));

async function listKeys(objects: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of objects.list(prefix)) keys.push(item.key);
  return keys;
}

describe("fs adapter: keys and listing", () => {
  let objects: ObjectStore;
  let root: string;
  beforeAll(async () => {
    root = await temp("keys");
    objects = await openFs(root);
  });

  it("lists in S3's key order (UTF-8 bytes), across folders, pruned to the prefix", async () => {
    // '-' (0x2d) sorts before '/' (0x2f): a naive walk of folders first gets this wrong.
    const keys = ["a/b", "a-c", "a", "a/b/c", "a/ba", "b", "é", "z/1", "a0"];
    for (const key of keys) await objects.put(key, key);
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(await listKeys(objects, "")).toEqual(expected);
    expect(await listKeys(objects, "a/")).toEqual(["a/b", "a/b/c", "a/ba"]);
    expect(await listKeys(objects, "a/b")).toEqual(["a/b", "a/b/c", "a/ba"]);
    expect(await listKeys(objects, "nothing/")).toEqual([]);
  });

  it("refuses keys that could leave the bucket's folder, before touching a file", async () => {
    const outside = path.join(root, "escaped");
    for (const key of ["../escaped", "a/../../escaped", "/etc/passwd", "a//b", "./a", "a/", "", "x\0y", "a/._S3rver_object/b"]) {
      for (const attempt of [() => objects.put(key, "x"), () => objects.getBuffer(key), () => objects.head(key), () => objects.delete([key])]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(isTorporError(error, "STORAGE_PERMANENT"), `${JSON.stringify(key)}: ${String(error)}`).toBe(true);
      }
    }
    await expect(stat(outside)).rejects.toThrow();
    expect(await readdir(root)).toEqual(expect.arrayContaining([".incoming", "torpor"]));
    expect((await readdir(root)).length).toBe(2);
  });

  it("an out-of-range read is STORAGE_PERMANENT, as S3's InvalidRange", async () => {
    await objects.put("r", "0123");
    const error = await objects.getBuffer("r", { start: 4, end: 10 }).catch((e: unknown) => e);
    expect(isTorporError(error, "STORAGE_PERMANENT")).toBe(true);
    expect((await objects.getBuffer("r", { start: 2, end: 99 })).toString()).toBe("23");
  });

  it("classifies fs errors as the S3 adapter does, without the host path in the message", () => {
    const err = (code: string) => Object.assign(new Error(`${code}: /secret/path`), { code });
    expect(classifyFsError(err("ENOENT"), "GET k", "/secret").code).toBe("NOT_FOUND");
    expect(classifyFsError(err("EACCES"), "GET k", "/secret").code).toBe("STORAGE_PERMANENT");
    const full = classifyFsError(err("ENOSPC"), "PUT k", "/secret");
    expect(full.code).toBe("STORAGE_PERMANENT");
    expect(full.message).toContain("no space left");
    expect(full.message).not.toContain("/secret");
    const busy = classifyFsError(err("EMFILE"), "GET k", "/secret");
    expect(busy.code).toBe("STORAGE_TRANSIENT");
    expect(busy.retriable).toBe(true);
  });
});

describe("fs adapter: all-or-nothing PUTs", () => {
  it("a stream that fails midway leaves the old object and no temp file behind", async () => {
    const root = await temp("atomic");
    const objects = await openFs(root);
    await objects.put("k", "old");
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 1));
        this.destroy(new Error("source broke"));
      },
    });
    await expect(objects.put("k", failing, { contentLength: 1_000_000 })).rejects.toThrow();
    expect((await objects.getBuffer("k")).toString()).toBe("old");
    expect(await readdir(path.join(root, ".incoming"))).toEqual([]);
    expect(await listKeys(objects, "")).toEqual(["k"]);
  });

  it("a body shorter than its announced length is refused and not stored", async () => {
    const objects = await openFs(await temp("short"));
    const error = await objects.put("s", Readable.from([Buffer.from("abc")]), { contentLength: 10 }).catch((e: unknown) => e);
    expect(isTorporError(error, "STORAGE_PERMANENT")).toBe(true);
    expect(await objects.head("s")).toBeNull();
  });

  it("removes temp files of PUTs a crash abandoned (untouched for an hour) at open, and keeps fresh ones", async () => {
    const root = await temp("abandoned");
    await openFs(root);
    const old = path.join(root, ".incoming", "dead.partial");
    const fresh = path.join(root, ".incoming", "alive.partial");
    await writeFile(old, "x");
    await writeFile(fresh, "y");
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    execFileSync("touch", ["-d", hourAgo.toISOString(), old]);
    await openFs(root);
    expect((await readdir(path.join(root, ".incoming"))).sort()).toEqual(["alive.partial"]);
  });
});

/** Every folder and file under `dir` with its permission bits. */
async function modes(dir: string): Promise<{ dirs: Set<number>; files: Set<number>; anyFile: string | undefined }> {
  const out = { dirs: new Set<number>(), files: new Set<number>(), anyFile: undefined as string | undefined };
  const walk = async (d: string) => {
    out.dirs.add((await stat(d)).mode & 0o7777);
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else {
        out.files.add((await stat(p)).mode & 0o7777);
        out.anyFile ??= p;
      }
    }
  };
  await walk(dir);
  return out;
}

/** Runs `cmd` as nobody (65534, no groups). */
function asNobody(cmd: string[]): { status: number | null; stderr: string } {
  const run = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ...cmd], { encoding: "utf8" });
  return { status: run.status, stderr: run.stderr };
}

describe("fs adapter: private to the user running Torpor", () => {
  const canSwitchUser = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;

  it("creates folders 0700 and files 0600 even under a permissive umask", async () => {
    const parent = await temp("modes");
    const previous = process.umask(0o000);
    try {
      const objects = await openFs(path.join(parent, "s3"));
      await objects.put("packs/aa", "pack");
      await objects.put("manifests/m", Readable.from([Buffer.from("manifest")]), { contentLength: 8 });
    } finally {
      process.umask(previous);
    }
    const found = await modes(path.join(parent, "s3"));
    expect([...found.dirs]).toEqual([0o700]);
    expect([...found.files]).toEqual([0o600]);
  });

  it.runIf(canSwitchUser)("nobody can neither read, list nor change the store, even when the data dir is open", async () => {
    const dataDir = await temp("nobody");
    await chmod(dataDir, 0o755); // the worst case: a data dir anyone may enter
    const objects = await openFs(path.join(dataDir, "s3"));
    await objects.put("packs/secret", "tenant data");
    const file = path.join(dataDir, "s3", "torpor", "packs", "secret._S3rver_object");
    // The control: nobody does read a world-readable file beside the store (the check is not vacuous).
    await writeFile(path.join(dataDir, "control"), "public", { mode: 0o644 });
    expect(asNobody(["cat", path.join(dataDir, "control")]).status).toBe(0);

    const read = asNobody(["cat", file]);
    expect(read.status).not.toBe(0);
    expect(read.stderr).toContain("Permission denied");
    expect(asNobody(["ls", path.join(dataDir, "s3")]).status).not.toBe(0);
    expect(asNobody(["rm", "-f", file]).status).not.toBe(0);
    expect(asNobody(["touch", path.join(dataDir, "s3", "torpor", "packs", "planted._S3rver_object")]).status).not.toBe(0);
    expect((await objects.getBuffer("packs/secret")).toString()).toBe("tenant data");
  });

  it.runIf(canSwitchUser)("tightens a data dir s3rver wrote world-readable (0755/0644) when it opens it", async () => {
    const dataDir = await temp("legacy");
    await chmod(dataDir, 0o755);
    const root = path.join(dataDir, "s3");
    const legacy = path.join(root, "torpor", "packs", "old._S3rver_object");
    await mkdir(path.dirname(legacy), { recursive: true, mode: 0o755 });
    await chmod(root, 0o755);
    await chmod(path.join(root, "torpor"), 0o755);
    await writeFile(legacy, "old pack", { mode: 0o644 });
    expect(asNobody(["cat", legacy]).status).toBe(0); // readable before

    await openFs(root);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect(asNobody(["cat", legacy]).status).not.toBe(0);
  });
});

describe("fs adapter and s3rver share one layout", () => {
  it("reads what the embedded S3 server stored, and s3rver serves what the fs adapter stored", async () => {
    const root = await temp("layout");
    const server = await startEmbeddedS3({ dir: root, bucket: "torpor" });
    try {
      const s3 = createS3ObjectStore({ endpoint: server.endpoint, bucket: "torpor", region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
      await s3.put("manifests/from-s3rver", "written over HTTP");
      const fs = await openFs(root);
      expect((await fs.getBuffer("manifests/from-s3rver")).toString()).toBe("written over HTTP");
      await fs.put("manifests/from-fs", "written as a file");
      await fs.put("manifests/from-s3rver", "overwritten as a file");
      expect((await s3.getBuffer("manifests/from-fs")).toString()).toBe("written as a file");
      expect((await s3.getBuffer("manifests/from-s3rver")).toString()).toBe("overwritten as a file");
      expect(await listKeys(fs, "manifests/")).toEqual(["manifests/from-fs", "manifests/from-s3rver"]);
      await fs.delete(["manifests/from-s3rver"]);
      expect(await s3.head("manifests/from-s3rver")).toBeNull();
    } finally {
      await server.close();
    }
  });
});
