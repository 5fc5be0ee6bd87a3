/** SHA-256 of local files, streamed (never whole in memory), a few at a time. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import path from "node:path";
import { Gate } from "../channel";

export async function hashLocalFile(abs: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(abs, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Hashes of `paths` (relative to `root`), keyed by path. */
export async function hashLocalFiles(root: string, paths: string[], concurrency = 2): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const gate = new Gate(concurrency);
  await Promise.all(
    paths.map((p) =>
      gate.run(async () => {
        result[p] = await hashLocalFile(path.join(root, p));
      }),
    ),
  );
  return result;
}
