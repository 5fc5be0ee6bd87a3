/**
 * The snapshot's compressors differ from codec.ts's only in their output chunk sizes: the bytes
 * they store must be the same, so that nothing about the format depends on which one wrote them.
 */
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import * as codec from "../../src/checkpoint/codec";
import * as snapshotCodec from "../../src/checkpoint/snapshot-codec";
import { noise } from "./tree";

/** About 1 MB: text that compresses well, then incompressible bytes. */
const sample = Buffer.concat([Buffer.from("export const value = 42; // a line of source\n".repeat(12_000)), noise(500_000, 5)]);

async function compressStream(compressor: NodeJS.ReadWriteStream, data: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  // Fed in 64 KB pieces, as a file stream would.
  const pieces = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
  await pipeline(Readable.from(pieces), compressor, sink);
  return Buffer.concat(out);
}

describe("snapshot compressors", () => {
  it("write the same frame bytes as codec.compressFrame", async () => {
    const ours = await snapshotCodec.compressFrame(sample);
    expect(ours.equals(await codec.compressFrame(sample))).toBe(true);
    expect((await codec.decompressFrame(ours)).equals(sample)).toBe(true);
  });

  it("write the same large-blob bytes as codec.largeCompressor", async () => {
    const ours = await compressStream(snapshotCodec.largeCompressor(sample.length), sample);
    expect(ours.equals(await compressStream(codec.largeCompressor(sample.length), sample))).toBe(true);
  });
});
