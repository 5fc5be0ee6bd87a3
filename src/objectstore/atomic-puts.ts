/**
 * Makes the embedded S3 server's PUTs all-or-nothing, as they are on S3.
 *
 * s3rver 3.7 writes an object's bytes in place and its metadata files after them. A process killed
 * during a PUT (found by tests/fault: SIGKILL inside a checkpoint upload) left either a truncated
 * object that HEAD then reports as complete — the checkpoint engine skips re-uploading a blob that
 * exists, so a later checkpoint would reference corrupt bytes — or an empty metadata file that
 * makes every request for that key fail with a 500 forever.
 *
 * Here the bytes go to a temporary file next to the object, the metadata is written, and only
 * then the temporary file is renamed over the object path. A reader sees either no object (s3rver
 * stats the object file first) or the complete one. Uses s3rver's FilesystemStore internals
 * (getResourcePath, putMetadata), which 3.7 has had since 3.0.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}

interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}

export function makePutsAtomic(server: unknown): void {
  const store = (server as { store?: FilesystemStore }).store;
  if (!store || typeof store.getResourcePath !== "function" || typeof store.putMetadata !== "function") {
    throw new Error("s3rver's FilesystemStore has changed: cannot make its PUTs atomic");
  }
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(path.dirname(objectPath), { recursive: true });
    // Does not end in "._S3rver_object", so listings never show it.
    const temporary = `${objectPath}.partial-${randomBytes(6).toString("hex")}`;
    const md5 = createHash("md5");
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(temporary),
      );
      const digest = md5.digest("hex");
      await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      await rename(temporary, objectPath);
      return { size, md5: digest };
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  };
}
