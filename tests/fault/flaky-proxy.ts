/**
 * An HTTP proxy in front of the S3 server that fails a share of requests at the wire, so the real
 * S3 adapter (its error classification and retries) is what copes: a 503 SlowDown answer, a
 * connection reset before the request is answered, a request that hangs a little and then drops,
 * and a download cut off after its first chunk. Seeded; counts what it injected.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { seeded, type FaultStats } from "./flaky-objects";

type Fault = "error" | "reset" | "hang" | "cut";

export interface FlakyProxy {
  endpoint: string;
  close(): Promise<void>;
}

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Injected by the fault proxy</Message></Error>`;

export async function startFlakyProxy(target: string, rate: number, seed: number, stats: FaultStats): Promise<FlakyProxy> {
  const random = seeded(seed);
  const upstream = new URL(target);
  const draw = (): Fault | null => {
    stats.requests += 1;
    if (random() >= rate) return null;
    stats.faults += 1;
    const r = random();
    return r < 0.4 ? "error" : r < 0.65 ? "reset" : r < 0.8 ? "hang" : "cut";
  };
  const server = http.createServer((req, res) => {
    const fault = draw();
    if (fault === "error") {
      req.resume();
      req.on("end", () => res.writeHead(503, { "content-type": "application/xml" }).end(SLOW_DOWN));
      return;
    }
    if (fault === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault === "hang") {
      setTimeout(() => req.socket.destroy(), 30);
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // "cut" on a request without a body worth cutting (HEAD, small answers) just passes.
        let chunks = 0;
        answer.on("data", (chunk: Buffer) => {
          if (fault === "cut" && ++chunks === 2) {
            res.socket?.destroy();
            answer.destroy();
            return;
          }
          res.write(chunk);
        });
        answer.on("end", () => res.end());
      },
    );
    forward.on("error", () => res.socket?.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
