/**
 * The code of a compression thread (compress-pool.ts): a typed, self-contained function run from
 * its source text (worker-source.ts says why, and the rule it follows), and its messages.
 */
import type { WorkerEnv } from "./worker-source";

export interface CompressData {
  level: number;
}

/** A chunk to compress: the first `length` bytes of `buffer` (moved, not copied). */
export interface CompressRequest {
  id: number;
  buffer: ArrayBuffer;
  length: number;
}

/** The zstd frame (`buffer`) or the failure, with the input buffer moved back for reuse. */
export type CompressReply = { id: number; input: ArrayBuffer } & ({ buffer: ArrayBuffer; error?: undefined } | { buffer?: undefined; error: string });

export function compressThread({ parentPort, workerData, zstd }: WorkerEnv<CompressData>): void {
  const cctx = new zstd.CCtx();
  // Compressed into this reused buffer, then copied into an ArrayBuffer of its own that is moved
  // back (not cloned): no Buffer per chunk, no garbage for this isolate.
  let out = Buffer.allocUnsafeSlow(zstd.compressBound(2 * 1024 * 1024));
  parentPort.on("message", ({ id, buffer, length }: CompressRequest) => {
    let reply: CompressReply;
    try {
      const input = new Uint8Array(buffer, 0, length);
      const bound = zstd.compressBound(input.length);
      if (bound > out.length) out = Buffer.allocUnsafeSlow(bound);
      const compressed = cctx.compress(out, input, workerData.level);
      const copy = new ArrayBuffer(compressed);
      new Uint8Array(copy).set(out.subarray(0, compressed));
      reply = { id, buffer: copy, input: buffer };
    } catch (e) {
      reply = { id, error: String(e instanceof Error ? e.message : e), input: buffer };
    }
    // The input goes back too, for the next chunk: a buffer left here would be this isolate's
    // garbage, and V8 only collects that after tens of MB (RSS).
    parentPort.postMessage(reply, reply.buffer ? [reply.buffer, buffer] : [buffer]);
  });
}
