/**
 * The CLI's folder source refuses what the local sandbox provider refuses (issue 16: one
 * local-disk implementation, src/localfs): a folder swapped for a symlink after the scan is not
 * read through, and a file swapped for a FIFO is refused without blocking. Before, the source
 * opened `root/path` by name, so both swaps were followed (the FIFO read waited for a writer).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { localDirSource } from "../../src/checkpoint/index";
import { checkpointFixture } from "./fixture";

const fx = checkpointFixture();
const buffer = Buffer.alloc(1024 * 1024);

async function readAll(source: ReturnType<typeof localDirSource>, paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const item of source.readFiles(paths)) {
    const chunks: Buffer[] = [];
    for await (const chunk of item.stream) chunks.push(chunk as Buffer);
    out.push(Buffer.concat(chunks).toString());
  }
  return out;
}

describe("local folder source: a folder that changes under the snapshot", () => {
  it("does not read through a folder swapped for a symlink after the scan", async () => {
    const src = await fx.dir("swap-src");
    const host = await fx.dir("swap-host");
    await mkdir(path.join(src, "sub"));
    await writeFile(path.join(src, "sub", "secret.txt"), "inside");
    await writeFile(path.join(host, "secret.txt"), "HOST SECRET");
    const source = localDirSource(src);
    const scanned = await source.scan();
    expect(scanned.find((e) => e.path === "sub/secret.txt")?.type).toBe("file");

    await rename(path.join(src, "sub"), path.join(src, "sub-aside"));
    await symlink(host, path.join(src, "sub"));

    expect(() => source.readInto("sub/secret.txt", buffer, 0, buffer.length)).toThrow(/symlink/);
    await expect(source.openFile("sub/secret.txt")).rejects.toMatchObject({ code: "UNSAFE_PATH" });
    await expect(readAll(source, ["sub/secret.txt"])).rejects.toMatchObject({ code: "UNSAFE_PATH" });
  });

  it("refuses a file swapped for a FIFO after the scan, without waiting for a writer", async () => {
    const src = await fx.dir("fifo-src");
    await writeFile(path.join(src, "f.txt"), "file");
    const source = localDirSource(src);
    expect((await source.scan()).map((e) => e.path)).toEqual(["f.txt"]);

    await rm(path.join(src, "f.txt"));
    execFileSync("mkfifo", [path.join(src, "f.txt")]);
    // A writer turns up later: a source that opened the FIFO would block until then and read its
    // bytes (so this test fails on such a source instead of hanging); a safe one never opens it.
    const writer = spawn("sh", ["-c", `sleep 1; echo hostile > '${path.join(src, "f.txt")}'`], { stdio: "ignore" });
    try {
      expect(() => source.readInto("f.txt", buffer, 0, buffer.length)).toThrow(/FIFO/);
      await expect(source.openFile("f.txt")).rejects.toThrow(/FIFO/);
      await expect(readAll(source, ["f.txt"])).rejects.toThrow(/FIFO/);
    } finally {
      writer.kill("SIGKILL");
    }
  });
});
