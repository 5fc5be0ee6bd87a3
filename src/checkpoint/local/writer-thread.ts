/**
 * The code of a file writer thread (FileWriterPool, writer-pool.ts): a typed, self-contained
 * function run from its own source text. Option (b) of issue 16, chosen over a worker module
 * file because Next's bundle cannot find such a file by path (repo/worker-source.ts says why,
 * and states the rule this function follows: it names only its parameters and globals). The
 * frame checks are repo/frame-checks.ts's, the same functions the main thread runs; the
 * messages are writer-protocol.ts's union. Three kinds of batch, each answered with its buffer:
 * - files and dirs whose bytes sit back to back in the buffer, written as they are;
 * - compressed frames of a pack range, each decompressed and every blob's size and SHA-256 checked
 *   before any file of it is written;
 * - a large blob's stored bytes (zstd), a chunk per message, decompressed, hashed and written to
 *   every file of the blob, checked at the last chunk before mode and mtime are set.
 */
import type { WorkerEnv } from "../repo/worker-source";
import type { ContentCheck } from "../repo/frame-checks";
import type { FileJob, FileTarget, FrameJob, LargeMessage, WriterData, WriterError, WriterReply, WriterRequest } from "./writer-protocol";

export function fileWriterThread({ parentPort, workerData, node, zstd, frame }: WorkerEnv<WriterData>): void {
  const { fs, zlib, crypto } = node;
  const max = workerData.maxFrameBytes;
  // Decompressed frames land in this reused buffer (a frame holds at most `max` bytes): no
  // Buffer per frame, no garbage for this isolate.
  const FRAME_OUT = Buffer.allocUnsafeSlow(max);
  const dctx = new zstd.DCtx();
  const frameZstd = { getFrameContentSize: zstd.getFrameContentSize, decompress: (dst: Uint8Array, src: Uint8Array) => dctx.decompress(dst, src) };
  const sha256 = (data: Uint8Array) => crypto.createHash("sha256").update(data).digest("hex");
  const failed = (path: string, e: unknown): WriterError => ({ path, code: (e as NodeJS.ErrnoException).code, message: (e as Error).message });

  function decompress(data: Buffer): Buffer {
    if (frame.isZstd(data)) return frame.decompressZstdFrame(data, max, frameZstd, (size) => FRAME_OUT.subarray(0, size));
    return zlib.brotliDecompressSync(data, frame.brotliFrameOptions(max));
  }

  function writeAll(fd: number, data: Uint8Array): void {
    let at = 0;
    while (at < data.length) at += fs.writeSync(fd, data, at, data.length - at);
  }

  // Large blobs, a chunk of stored bytes per message: decompressed as a stream into a reused
  // buffer, checked as it goes, and written to every file of the blob. The files are created at
  // the first chunk; the content is checked (size and SHA-256) at the last, before mode and mtime.
  const LARGE_OUT = Buffer.allocUnsafeSlow(1024 * 1024);
  interface Large {
    files: FileTarget[];
    fds: number[];
    dctx: InstanceType<typeof zstd.DCtx>;
    content: ContentCheck;
    frameOpen: boolean;
  }
  const larges = new Map<number, Large>();

  function largeChunk(m: LargeMessage, data: Buffer): WriterError | null {
    let st = larges.get(m.large);
    // The rest of a blob already refused (its files are closed): nothing more to do.
    if (!st && !m.files) return null;
    if (!st) {
      st = { files: m.files!, fds: [], dctx: new zstd.DCtx(), content: frame.largeContentCheck(m, crypto.createHash("sha256")), frameOpen: false };
      larges.set(m.large, st);
      for (const [abs, mode] of st.files) {
        try {
          st.fds.push(fs.openSync(abs, "wx", mode));
        } catch (e) {
          return failed(abs, e);
        }
      }
    }
    let src = data;
    try {
      for (;;) {
        const [ret, produced, consumed] = st.dctx.decompressStream(LARGE_OUT, src);
        src = src.subarray(consumed);
        // 0: a frame ended. A call that neither read nor wrote (after a frame filled the buffer to
        // the byte) says how much the next frame's header needs, which means nothing here.
        if (consumed > 0 || produced > 0) st.frameOpen = ret !== 0;
        if (produced > 0) {
          const piece = LARGE_OUT.subarray(0, produced);
          const problem = st.content.add(piece);
          if (problem) return { integrity: { blob: m.hash, problem } };
          for (let i = 0; i < st.fds.length; i++) {
            try {
              writeAll(st.fds[i]!, piece);
            } catch (e) {
              return failed(st.files[i]![0], e);
            }
          }
        }
        if (src.length === 0 && produced < LARGE_OUT.length) break;
      }
    } catch (e) {
      return { integrity: { blob: m.hash, problem: "cannot decompress: " + (e as Error).message } };
    }
    if (!m.last) return null;
    if (st.frameOpen) return { integrity: { blob: m.hash, problem: "cannot decompress: truncated" } };
    const problem = st.content.end();
    if (problem) return { integrity: { blob: m.hash, problem } };
    for (let i = 0; i < st.fds.length; i++) {
      const [abs, mode, mtime] = st.files[i]!;
      try {
        if ((mode & m.umask) !== 0) fs.fchmodSync(st.fds[i]!, mode);
        fs.futimesSync(st.fds[i]!, mtime, mtime);
      } catch (e) {
        return failed(abs, e);
      }
    }
    closeLarge(m.large);
    return null;
  }

  function closeLarge(id: number): void {
    const st = larges.get(id);
    if (!st) return;
    larges.delete(id);
    for (const fd of st.fds) fs.closeSync(fd);
  }

  function writeFile(abs: string, data: Buffer, offset: number, size: number, mode: number, mtime: number, umask: number): void {
    const fd = fs.openSync(abs, "wx", mode);
    try {
      writeAll(fd, data.subarray(offset, offset + size));
      if ((mode & umask) !== 0) fs.fchmodSync(fd, mode);
      fs.futimesSync(fd, mtime, mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  // Files (and dirs, size -1) whose bytes sit back to back in the batch buffer.
  function writeFiles(data: Buffer, files: FileJob[], umask: number): WriterError | null {
    for (const [abs, offset, size, mode, mtime] of files) {
      try {
        if (size < 0) {
          try {
            fs.mkdirSync(abs, { mode });
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
          }
          continue;
        }
        writeFile(abs, data, offset, size, mode, mtime, umask);
      } catch (e) {
        return failed(abs, e);
      }
    }
    return null;
  }

  // Compressed frames of a pack range: each frame is decompressed here, and each blob's size and
  // SHA-256 are checked before any file of it is written.
  function writePacked(data: Buffer, frames: FrameJob[], umask: number): WriterError | null {
    for (const [offset, length, blobs] of frames) {
      let raw: Buffer;
      try {
        raw = decompress(data.subarray(offset, offset + length));
      } catch (e) {
        return { integrity: { frame: offset, problem: "cannot decompress: " + (e as Error).message } };
      }
      for (const [hash, rawOffset, size, files] of blobs) {
        if (!frame.blobMatches(raw, rawOffset, size, hash, sha256)) return { integrity: { frame: offset, blob: hash, problem: "hash mismatch" } };
        for (const [abs, mode, mtime] of files) {
          try {
            writeFile(abs, raw, rawOffset, size, mode, mtime, umask);
          } catch (e) {
            return failed(abs, e);
          }
        }
      }
    }
    return null;
  }

  const reply = (m: WriterReply, transfer: ArrayBuffer[] = []) => parentPort.postMessage(m, transfer);

  parentPort.on("message", (m: WriterRequest) => {
    if (m.kind === "abortLarge") {
      closeLarge(m.large);
      return reply({ kind: "aborted", large: m.large });
    }
    if (m.kind === "shutdown") {
      // Files of large blobs left open by a restore that failed are closed before the thread ends.
      for (const id of [...larges.keys()]) closeLarge(id);
      return parentPort.close();
    }
    const data = Buffer.from(m.buffer, 0, m.length);
    let error: WriterError | null;
    try {
      if (m.kind === "large") {
        error = largeChunk(m, data);
        if (error) closeLarge(m.large);
      } else error = m.kind === "packed" ? writePacked(data, m.frames, m.umask) : writeFiles(data, m.files, m.umask);
    } catch (e) {
      error = { path: "", code: (e as NodeJS.ErrnoException).code, message: String((e as Error | undefined)?.message) };
    }
    // The buffer goes back for the next batch: no allocation per batch, and no garbage here.
    reply({ kind: "done", id: m.id, error, buffer: m.buffer }, [m.buffer]);
  });
}
