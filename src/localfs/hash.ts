/**
 * SHA-256 of files in a folder, read as ./reads reads them (by descriptors, regular files only):
 * the sandbox's hashFiles and the CLI target's file-by-file verification.
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { checkedPath } from "./paths";
import { openRegularSync, readWhole, SMALL_READ } from "./reads";
import { DirChain, sysError } from "./safe-fs";
import { YIELD_EVERY } from "./scan";

/**
 * SHA-256 of each file, keyed by its normalised path; files that no longer exist are left out of
 * the result. Small files are read synchronously into one reused buffer (as the checkpoint
 * engine reads a local folder), large ones streamed.
 */
export async function hashFolderFiles(root: string, paths: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // One byte more than a small file: a file that grew since fstat fills it, and is read on.
  const buffer = Buffer.allocUnsafe(SMALL_READ + 1);
  const dirs = new DirChain(root);
  let done = 0;
  try {
    for (const rel of paths) {
      if (++done % YIELD_EVERY === 0) await nextTurn();
      const file = openRegularSync(root, rel, dirs);
      if (file === null) continue;
      const hash = createHash("sha256");
      let whole = false;
      if (file.size <= SMALL_READ) {
        let n: number;
        try {
          n = readWhole(file.fd, buffer);
        } catch (error) {
          closeSync(file.fd);
          throw sysError(error, rel, "read");
        }
        hash.update(buffer.subarray(0, n));
        whole = n <= SMALL_READ;
        if (whole) closeSync(file.fd);
      }
      if (!whole) {
        // From the descriptor's current position: after the bytes hashed above, if any.
        const stream = createReadStream("", { fd: file.fd, autoClose: true, highWaterMark: 1024 * 1024 });
        for await (const chunk of stream) hash.update(chunk as Buffer);
      }
      out[checkedPath(rel)] = hash.digest("hex");
    }
  } finally {
    dirs.close();
  }
  return out;
}
