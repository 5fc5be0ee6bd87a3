/**
 * The worker threads that create restored files: content, mode and mtime as asked, dirs level by
 * level, and a failed create surfaces as an error naming the path (never a silent skip).
 */
import { mkdir, readdir, readFile, readlink, rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { compressFrame } from "../../src/checkpoint/repo/codec";
import { compressChunk } from "../../src/checkpoint/repo/compress-pool";
import { FileWriteError, FileWriterPool, PackedContentError, type LargeBatch, type PackedBatch } from "../../src/checkpoint/local/writer-pool";
import { noise, tempDir } from "./tree";

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

  describe("packed ranges", () => {
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    /** Two frames at pack offsets 100 and 100 + the first's length; the second frame's blob is shared by two files. */
    async function range(root: string): Promise<PackedBatch> {
      const one = Buffer.from("first file\n");
      const two = Buffer.from("second file, twice\n");
      const frameA = await compressFrame(Buffer.concat([one]));
      const frameB = await compressFrame(Buffer.concat([Buffer.from("padding"), two]));
      const file = (name: string, mode = 0o644) => ({ abs: path.join(root, name), mode, mtimeSeconds: 1_600_000_000 });
      return {
        pack: "p".repeat(64),
        start: 100,
        data: Buffer.concat([frameA, frameB]),
        frames: [
          { offset: 100, length: frameA.length, blobs: [{ hash: sha(one), rawOffset: 0, size: one.length, files: [file("one.txt")] }] },
          { offset: 100 + frameA.length, length: frameB.length, blobs: [{ hash: sha(two), rawOffset: 7, size: two.length, files: [file("two.txt", 0o755), file("copy.txt")] }] },
        ],
      };
    }

    it("decompresses, checks and writes every file of a range", async () => {
      const root = await tempDir("writers-packed");
      cleanup.push(root);
      const pool = new FileWriterPool(2, process.umask());
      try {
        await pool.addPacked(await range(root));
        await pool.drain();
      } finally {
        await pool.close();
      }
      expect(await readFile(path.join(root, "one.txt"), "utf8")).toBe("first file\n");
      expect(await readFile(path.join(root, "two.txt"), "utf8")).toBe("second file, twice\n");
      expect(await readFile(path.join(root, "copy.txt"), "utf8")).toBe("second file, twice\n");
      expect((await stat(path.join(root, "two.txt"))).mode & 0o777).toBe(0o755);
    });

    it("refuses a blob whose hash does not match, and a frame that does not decompress, before writing their files", async () => {
      const root = await tempDir("writers-packed-bad");
      cleanup.push(root);
      const cases: { damage(r: PackedBatch): void; expected: RegExp; written: string[] }[] = [
        { damage: (r) => void (r.frames[1]!.blobs[0]!.hash = "0".repeat(64)), expected: /^Pack p{64}, blob 0{64}: hash mismatch$/, written: ["one.txt"] },
        { damage: (r) => void (r.frames[1]!.blobs[0]!.size += 50), expected: /blob [0-9a-f]{64}: hash mismatch$/, written: ["one.txt"] },
        { damage: (r) => void r.data.fill(0x5a, 0, 4), expected: /^Pack p{64}, frame at 100: cannot decompress/, written: [] },
      ];
      for (const [i, c] of cases.entries()) {
        const dir = path.join(root, String(i));
        await import("node:fs/promises").then((fs) => fs.mkdir(dir));
        const r = await range(dir);
        c.damage(r);
        const pool = new FileWriterPool(1, process.umask());
        try {
          await pool.addPacked(r);
          const error = await pool.drain().then(() => undefined, (e: unknown) => e);
          expect(error).toBeInstanceOf(PackedContentError);
          expect((error as Error).message).toMatch(c.expected);
        } finally {
          await pool.close();
        }
        expect((await import("node:fs/promises").then((fs) => fs.readdir(dir))).sort()).toEqual(c.written);
      }
    });
  });

  describe("large blobs", () => {
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    /** 3.5 MB that compress a little (a repeated random 64 KB block with every 100th byte varied). */
    const content = (() => {
      const block = Buffer.from(Array.from({ length: 65_536 }, (_, i) => (i * 7919) % 251));
      const out = Buffer.alloc(3.5 * 1024 * 1024);
      for (let at = 0; at < out.length; at += block.length) block.copy(out, at);
      for (let i = 0; i < out.length; i += 100) out[i] = (i / 100) % 256;
      return out;
    })();
    /** Stored as the snapshot stores it: one zstd frame per MB. */
    const store = async (data: Buffer) => {
      const frames: Buffer[] = [];
      for (let at = 0; at < data.length; at += 1024 * 1024) frames.push(await compressChunk(data.subarray(at, at + 1024 * 1024)));
      return Buffer.concat(frames);
    };
    /** Delivered in uneven pieces, as a download would. */
    async function* pieces(stored: Buffer) {
      for (let at = 0; at < stored.length; at += 77_777) yield stored.subarray(at, at + 77_777);
    }
    const file = (root: string, name: string, mode: number) => ({ abs: path.join(root, name), mode, mtimeSeconds: 1_600_000_123 });
    const openFds = async () => (await readdir("/proc/self/fd")).length;

    it("decompresses, checks and writes the blob to each of its files, with their modes and mtimes", async () => {
      const root = await tempDir("writers-large");
      cleanup.push(root);
      const stored = await store(content);
      expect(stored.length).toBeLessThan(content.length);
      const pool = new FileWriterPool(2, process.umask());
      try {
        await pool.addLarge({ hash: sha(content), size: content.length, files: [file(root, "tool", 0o755), file(root, "copy", 0o600)], stored: pieces(stored) });
        await pool.drain();
      } finally {
        await pool.close();
      }
      for (const [name, mode] of [["tool", 0o755], ["copy", 0o600]] as const) {
        expect((await readFile(path.join(root, name))).equals(content)).toBe(true);
        const st = await stat(path.join(root, name));
        expect(st.mode & 0o777).toBe(mode);
        expect(Math.round(st.mtimeMs / 1000)).toBe(1_600_000_123);
      }
    });

    it("writes a blob whose last frame fills the output buffer to the byte, in any pieces", async () => {
      // 2 MB exactly: two frames of 1 MB, each decompressing into the whole 1 MB buffer at once
      // when it arrives in one message. A call after that reads and writes nothing.
      const exact = noise(2 * 1024 * 1024, 5);
      const stored = await store(exact);
      for (const [label, pieceBytes] of [["one piece", stored.length], ["1 MB pieces", 1024 * 1024], ["small pieces", 77_777]] as const) {
        const root = await tempDir("writers-large-exact");
        cleanup.push(root);
        async function* pieces() {
          for (let at = 0; at < stored.length; at += pieceBytes) yield stored.subarray(at, at + pieceBytes);
        }
        const pool = new FileWriterPool(1, process.umask());
        try {
          await pool.addLarge({ hash: sha(exact), size: exact.length, files: [file(root, "exact.bin", 0o644)], stored: pieces() });
          await pool.drain();
        } finally {
          await pool.close();
        }
        expect((await readFile(path.join(root, "exact.bin"))).equals(exact), label).toBe(true);
      }
    });

    it("closes the files of a blob whose download breaks, before the pool closes", async () => {
      const root = await tempDir("writers-large-break");
      cleanup.push(root);
      const incompressible = noise(3_000_000, 4);
      const stored = await store(incompressible);
      const pool = new FileWriterPool(2, process.umask());
      try {
        async function* breaking() {
          for (let at = 0; at < 2_000_000; at += 100_000) yield stored.subarray(at, at + 100_000);
          throw new Error("connection reset");
        }
        const batch = { hash: sha(incompressible), size: incompressible.length, files: [file(root, "tool", 0o755)], stored: breaking() };
        await expect(pool.addLarge(batch)).rejects.toThrow("connection reset");
        expect(await readdir(root)).toEqual(["tool"]); // it was being written
        const open = await Promise.all((await readdir("/proc/self/fd")).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")));
        expect(open.filter((target) => target.startsWith(root))).toEqual([]);
      } finally {
        await pool.close();
      }
    });

    it("refuses content that does not match, is truncated or does not decompress, and closes the files it opened", async () => {
      const root = await tempDir("writers-large-bad");
      cleanup.push(root);
      const stored = await store(content);
      const other = Buffer.from(content);
      other[1234] = other[1234]! ^ 1;
      const garbled = Buffer.from(stored);
      garbled.fill(0x5a, 2000, 2100);
      const cases: { name: string; batch: Omit<LargeBatch, "files">; expected: RegExp }[] = [
        { name: "wrong hash", batch: { hash: "0".repeat(64), size: content.length, stored: pieces(stored) }, expected: /^Blob 0{64}: hash mismatch/ },
        { name: "other content", batch: { hash: sha(content), size: content.length, stored: pieces(await store(other)) }, expected: /^Blob [0-9a-f]{64}: hash mismatch/ },
        { name: "longer than said", batch: { hash: sha(content), size: content.length - 1, stored: pieces(stored) }, expected: /hash mismatch \(more than/ },
        { name: "truncated", batch: { hash: sha(content), size: content.length, stored: pieces(stored.subarray(0, stored.length - 10)) }, expected: /cannot decompress: truncated|hash mismatch/ },
        { name: "garbled", batch: { hash: sha(content), size: content.length, stored: pieces(garbled) }, expected: /^Blob [0-9a-f]{64}: (cannot decompress|hash mismatch)/ },
      ];
      const fdsBefore = await openFds();
      for (const c of cases) {
        const dir = path.join(root, c.name.replace(/ /g, "-"));
        await mkdir(dir);
        const pool = new FileWriterPool(1, process.umask());
        try {
          await pool.addLarge({ ...c.batch, files: [file(dir, "tool", 0o755)] }).catch(() => {});
          const error = await pool.drain().then(() => undefined, (e: unknown) => e);
          expect(error, c.name).toBeInstanceOf(PackedContentError);
          expect((error as Error).message, c.name).toMatch(c.expected);
        } finally {
          await pool.close();
        }
        // Never finished: its mtime is not the one asked for.
        expect(Math.round((await stat(path.join(dir, "tool"))).mtimeMs / 1000), c.name).not.toBe(1_600_000_123);
      }
      expect(await openFds()).toBe(fdsBefore);
    });
  });
});
