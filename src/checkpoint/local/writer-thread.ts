/**
 * The code of a file writer thread (FileWriterPool, writer-pool.ts), as source evaluated in the
 * thread: it works the same from the esbuild bundle, from Next's bundle and from the TypeScript
 * sources. Three kinds of message, each answered with the batch's buffer for reuse:
 * - files and dirs whose bytes sit back to back in the buffer, written as they are;
 * - compressed frames of a pack range, each decompressed and every blob's size and SHA-256 checked
 *   before any file of it is written;
 * - a large blob's stored bytes (zstd), a chunk per message, decompressed, hashed and written to
 *   every file of the blob, checked at the last chunk before mode and mtime are set.
 */
import { ZSTD_WORKER_SOURCE } from "../repo/zstd";

export const FILE_WRITER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const zlib = require("node:zlib");
const { createHash } = require("node:crypto");
${ZSTD_WORKER_SOURCE}

// Decompressed frames land in this reused buffer: a frame closes once it holds 1 MB, so with its
// last file (at most 1 MB) it stays under 2 MB. No Buffer per frame, no garbage for this isolate.
const FRAME_OUT = Buffer.allocUnsafeSlow(2 * 1024 * 1024);
const dctx = new zstd.DCtx();

// A frame is zstd when it starts with zstd's magic number, else Brotli (older checkpoints: repo/codec.ts).
function decompress(frame) {
  if (isZstd(frame)) {
    const size = zstd.getFrameContentSize(frame);
    if (size === null || size > FRAME_OUT.length) throw new Error("frame content size " + size);
    return FRAME_OUT.subarray(0, dctx.decompress(FRAME_OUT, frame));
  }
  return zlib.brotliDecompressSync(frame, { chunkSize: FRAME_OUT.length, maxOutputLength: FRAME_OUT.length });
}

function writeAll(fd, data) {
  let at = 0;
  while (at < data.length) at += fs.writeSync(fd, data, at, data.length - at);
}

// Large blobs (zstd only), a chunk of stored bytes per message: decompressed as a stream into a
// reused buffer, hashed, and written to every file of the blob. The files are created at the
// first chunk; the content is checked (size and SHA-256) at the last, before mode and mtime.
const LARGE_OUT = Buffer.allocUnsafeSlow(1024 * 1024);
const larges = new Map();

function largeChunk(m, data) {
  let st = larges.get(m.large);
  // The rest of a blob already refused (its files are closed): nothing more to do.
  if (!st && !m.files) return null;
  if (!st) {
    st = { files: m.files, fds: [], dctx: new zstd.DCtx(), hasher: createHash("sha256"), size: 0, frameOpen: false };
    larges.set(m.large, st);
    for (const [abs, mode] of st.files) {
      try {
        st.fds.push(fs.openSync(abs, "wx", mode));
      } catch (e) {
        return { path: abs, code: e.code, message: e.message };
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
        st.size += produced;
        if (st.size > m.size) return { integrity: { blob: m.hash, problem: "hash mismatch (more than " + m.size + " bytes)" } };
        st.hasher.update(piece);
        for (let i = 0; i < st.fds.length; i++) {
          try {
            writeAll(st.fds[i], piece);
          } catch (e) {
            return { path: st.files[i][0], code: e.code, message: e.message };
          }
        }
      }
      if (src.length === 0 && produced < LARGE_OUT.length) break;
    }
  } catch (e) {
    return { integrity: { blob: m.hash, problem: "cannot decompress: " + e.message } };
  }
  if (!m.last) return null;
  if (st.frameOpen) return { integrity: { blob: m.hash, problem: "cannot decompress: truncated" } };
  if (st.size !== m.size || st.hasher.digest("hex") !== m.hash) return { integrity: { blob: m.hash, problem: "hash mismatch (" + st.size + " bytes)" } };
  for (let i = 0; i < st.fds.length; i++) {
    const [abs, mode, mtime] = st.files[i];
    try {
      if ((mode & m.umask) !== 0) fs.fchmodSync(st.fds[i], mode);
      fs.futimesSync(st.fds[i], mtime, mtime);
    } catch (e) {
      return { path: abs, code: e.code, message: e.message };
    }
  }
  closeLarge(m.large);
  return null;
}

function closeLarge(id) {
  const st = larges.get(id);
  if (!st) return;
  larges.delete(id);
  for (const fd of st.fds) fs.closeSync(fd);
}

function writeFile(abs, data, offset, size, mode, mtime, umask) {
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
function writeFiles(data, files, umask) {
  for (const [abs, offset, size, mode, mtime] of files) {
    try {
      if (size < 0) {
        try {
          fs.mkdirSync(abs, { mode });
        } catch (e) {
          if (e.code !== "EEXIST") throw e;
        }
        continue;
      }
      writeFile(abs, data, offset, size, mode, mtime, umask);
    } catch (e) {
      return { path: abs, code: e.code, message: e.message };
    }
  }
  return null;
}

// Compressed frames of a pack range: each frame is decompressed here, and each blob's size and
// SHA-256 are checked before any file of it is written.
function writePacked(data, frames, umask) {
  for (const [offset, length, blobs] of frames) {
    let raw;
    try {
      raw = decompress(data.subarray(offset, offset + length));
    } catch (e) {
      return { integrity: { frame: offset, problem: "cannot decompress: " + e.message } };
    }
    for (const [hash, rawOffset, size, files] of blobs) {
      const end = rawOffset + size;
      if (end > raw.length || createHash("sha256").update(raw.subarray(rawOffset, end)).digest("hex") !== hash) {
        return { integrity: { frame: offset, blob: hash, problem: "hash mismatch" } };
      }
      for (const [abs, mode, mtime] of files) {
        try {
          writeFile(abs, raw, rawOffset, size, mode, mtime, umask);
        } catch (e) {
          return { path: abs, code: e.code, message: e.message };
        }
      }
    }
  }
  return null;
}

parentPort.on("message", (m) => {
  if (m.abortLarge !== undefined) {
    closeLarge(m.abortLarge);
    return parentPort.postMessage({ aborted: m.abortLarge });
  }
  if (m.shutdown) {
    // Files of large blobs left open by a restore that failed are closed before the thread ends.
    for (const id of [...larges.keys()]) closeLarge(id);
    return parentPort.close();
  }
  const { id, buffer, length, files, frames, umask } = m;
  const data = Buffer.from(buffer, 0, length);
  let error;
  try {
    if (m.large !== undefined) {
      error = largeChunk(m, data);
      if (error) closeLarge(m.large);
    } else error = frames ? writePacked(data, frames, umask) : writeFiles(data, files, umask);
  } catch (e) {
    error = { path: "", code: e.code, message: String(e && e.message) };
  }
  // The buffer goes back for the next batch: no allocation per batch, and no garbage here.
  parentPort.postMessage({ id, error, buffer }, [buffer]);
});
`;
