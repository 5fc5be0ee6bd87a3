/**
 * The worker threads that create restored files: content, mode and mtime as asked, dirs level by
 * level, and a failed create surfaces as an error naming the path (never a silent skip).
 */
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FileWriteError, FileWriterPool } from "../../src/checkpoint/file-writers";
import { tempDir } from "./tree";

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

describe("FileWriterPool", () => {
  it("creates dirs and files with their content, mode and mtime", async () => {
    const root = await tempDir("writers");
    cleanup.push(root);
    const pool = new FileWriterPool(2, process.umask());
    try {
      await pool.mkdirs([path.join(root, "a"), path.join(root, "a/b"), path.join(root, "c")], 0o700);
      for (let i = 0; i < 300; i++) await pool.add(path.join(root, i % 2 ? "a/b" : "c", `f${i}`), Buffer.from(`file ${i}`), 0o640, 1_600_000_000 + i);
      await pool.add(path.join(root, "a/empty"), Buffer.alloc(0), 0o755, 1_600_000_000);
      await pool.drain();
    } finally {
      await pool.close();
    }
    expect(await readFile(path.join(root, "a/b/f7"), "utf8")).toBe("file 7");
    expect(await readFile(path.join(root, "c/f8"), "utf8")).toBe("file 8");
    const st = await stat(path.join(root, "a/b/f7"));
    expect(st.mode & 0o777).toBe(0o640);
    expect(Math.round(st.mtimeMs / 1000)).toBe(1_600_000_007);
    expect((await stat(path.join(root, "a/empty"))).size).toBe(0);
    expect((await stat(path.join(root, "a/empty"))).mode & 0o777).toBe(0o755);
  });

  it("reports a file it cannot create, with its path", async () => {
    const root = await tempDir("writers-fail");
    cleanup.push(root);
    const pool = new FileWriterPool(2, process.umask());
    const missing = path.join(root, "no-such-dir", "f");
    try {
      await pool.add(missing, Buffer.from("x"), 0o644, 1);
      const error = await pool.drain().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(FileWriteError);
      expect((error as FileWriteError).path).toBe(missing);
      expect((error as FileWriteError).code).toBe("ENOENT");
      await expect(pool.add(path.join(root, "g"), Buffer.from("y"), 0o644, 1)).rejects.toBeInstanceOf(FileWriteError);
    } finally {
      await pool.close();
    }
  });
});
