/**
 * The ObjectStore contract: every adapter runs this suite (`objectStoreContract(name, setup)`).
 * `setup` returns a fresh, empty store and a teardown.
 */
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import type { ObjectStore } from "../../src/objectstore/types";

export interface ContractSetup {
  objects: ObjectStore;
  teardown(): Promise<void>;
}

const hex = (n: number) => n.toString(16).padStart(64, "0");

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function objectStoreContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let ctx: ContractSetup;
    let objects: ObjectStore;
    beforeAll(async () => {
      ctx = await setup();
      objects = ctx.objects;
    });
    afterAll(async () => {
      await ctx?.teardown();
    });

    it("puts and gets a buffer, string and bytes, byte for byte", async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await objects.put("c/buffer", bytes);
      await objects.put("c/string", "héllo ✓");
      await objects.put("c/u8", new Uint8Array([1, 2, 3]));
      expect(await objects.getBuffer("c/buffer")).toEqual(bytes);
      expect((await objects.getBuffer("c/string")).toString("utf8")).toBe("héllo ✓");
      expect([...(await objects.getBuffer("c/u8"))]).toEqual([1, 2, 3]);
    });

    it("stores a stream body with its exact length (no checksum framing)", async () => {
      const body = Buffer.alloc(200_000, 7);
      body.write("start", 0);
      await objects.put("c/stream", Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]), {
        contentLength: body.length,
      });
      expect((await objects.head("c/stream"))?.size).toBe(200_000);
      expect((await objects.getBuffer("c/stream")).equals(body)).toBe(true);
      expect((await readAll(await objects.getStream("c/stream"))).equals(body)).toBe(true);
    });

    it("reads an inclusive byte range, as a buffer and as a stream", async () => {
      await objects.put("c/range", "0123456789");
      expect((await objects.getBuffer("c/range", { start: 2, end: 5 })).toString()).toBe("2345");
      expect((await readAll(await objects.getStream("c/range", { start: 7, end: 9 }))).toString()).toBe("789");
    });

    it("heads an object and returns null for a missing key", async () => {
      await objects.put("c/head", "abc");
      const info = await objects.head("c/head");
      expect(info?.key).toBe("c/head");
      expect(info?.size).toBe(3);
      expect(info?.lastModified).toBeGreaterThan(0);
      expect(await objects.head("c/missing")).toBeNull();
    });

    it("throws NOT_FOUND for a missing key", async () => {
      const error = await objects.getBuffer("c/nope").catch((e: unknown) => e);
      expect(isTorporError(error, "NOT_FOUND")).toBe(true);
      const streamError = await objects.getStream("c/nope").catch((e: unknown) => e);
      expect(isTorporError(streamError, "NOT_FOUND")).toBe(true);
    });

    it("lists every key under a prefix, paging past 1,000 keys", async () => {
      const keys = Array.from({ length: 1105 }, (_, i) => `many/${hex(i * 7919)}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => objects.put(k, "x")));
      }
      await objects.put("other/x", "y");
      const listed: string[] = [];
      for await (const item of objects.list("many/")) {
        expect(item.size).toBe(1);
        listed.push(item.key);
      }
      expect(listed.sort()).toEqual([...keys].sort());
    });

    it("deletes keys, and deleting a missing key is not an error", async () => {
      await objects.put("d/1", "1");
      await objects.put("d/2", "2");
      await objects.delete(["d/1", "d/2", "d/never-existed"]);
      expect(await objects.head("d/1")).toBeNull();
      expect(await objects.head("d/2")).toBeNull();
      const left: string[] = [];
      for await (const item of objects.list("d/")) left.push(item.key);
      expect(left).toEqual([]);
    });

    it("overwrites an existing key", async () => {
      await objects.put("c/over", "one");
      await objects.put("c/over", "two");
      expect((await objects.getBuffer("c/over")).toString()).toBe("two");
    });

    it("passes check() on a reachable bucket and describes itself", async () => {
      await objects.check();
      expect(objects.description.length).toBeGreaterThan(0);
    });
  });
}
