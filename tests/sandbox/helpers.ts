/**
 * Helpers for the sandbox tests: tar streams built and read in memory, waiting for a condition
 * (bounded by the test's own timeout, never asserting on elapsed time), error-code matching.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { expect } from "vitest";
import { isTorporError, type ErrorCode } from "../../src/core/errors";

export interface TarItem {
  name: string;
  type?: "file" | "directory" | "symlink";
  content?: string;
  mode?: number;
  linkname?: string;
  mtime?: Date;
}

export function makeTar(items: TarItem[]): Readable {
  const pack = tar.pack();
  for (const item of items) {
    const type = item.type ?? "file";
    const header = { name: item.name, type, mode: item.mode ?? (type === "directory" ? 0o755 : 0o644), mtime: item.mtime ?? new Date() };
    if (type === "file") pack.entry({ ...header, size: Buffer.byteLength(item.content ?? "") }, item.content ?? "");
    else pack.entry({ ...header, linkname: item.linkname });
  }
  pack.finalize();
  return pack as unknown as Readable;
}

export interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  linkname: string | null;
  content: string;
}

export async function readTar(stream: Readable): Promise<Map<string, ReadEntry>> {
  const extract = tar.extract();
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  const out = new Map<string, ReadEntry>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const name = entry.header.name.replace(/\/$/, "");
    out.set(name, {
      name,
      type: entry.header.type,
      mode: entry.header.mode & 0o7777,
      linkname: entry.header.linkname ?? null,
      content: Buffer.concat(chunks).toString("utf8"),
    });
  }
  return out;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Polls until `check` returns a truthy value (a safety bound of 50 s stops a stuck loop). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

export async function expectCode(promise: Promise<unknown>, code: ErrorCode | ErrorCode[]): Promise<void> {
  const codes = Array.isArray(code) ? code : [code];
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a ${codes.join("|")} error`).toBeDefined();
  expect(isTorporError(error), `not a TorporError: ${String(error)}`).toBe(true);
  expect(codes).toContain((error as { code: ErrorCode }).code);
}
