// Load benchmark of the editor's heartbeat: activity pings against the running app (the start
// command, embedded default, temp data dir) from a second process over loopback HTTP.
// Reports pings/s and p50/p99 latency, with the store writes/s they caused (pings are coalesced:
// only a ping that moves last activity by more than TORPOR_ACTIVITY_COALESCE_MS writes the row).
// The baseline is sessions.get on the same sessions: the same HTTP + auth + tRPC + store read path.
// Run alone: `node bench/load.bench.mjs` (after `npm run build`); settings: BENCH_SESSIONS,
// BENCH_SECONDS, BENCH_CONCURRENCY.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
// A 1 s coalescing window (the default is 15 s) so a 5 s run shows the writes the pings cause.
const COALESCE_MS = Number(process.env.BENCH_COALESCE_MS ?? 1000);

async function call(url, token, procedure, input, method = "POST") {
  const endpoint = `${url}/api/trpc/${procedure}`;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const response =
    method === "POST"
      ? await fetch(endpoint, { method, headers, body: JSON.stringify(input) })
      : await fetch(`${endpoint}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers });
  const body = await response.json();
  if (!response.ok) throw new Error(`${procedure}: ${response.status} ${JSON.stringify(body.error?.message ?? body)}`);
  return body.result.data;
}

/** The second process: hammers one procedure for SECONDS with CONCURRENCY loops; prints JSON. */
async function client() {
  const { url, token, sessions, procedure } = JSON.parse(process.env.BENCH_CLIENT);
  const latencies = [];
  let writes = 0;
  let errors = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = worker; performance.now() < deadline; i += CONCURRENCY) {
        const sessionId = sessions[i % sessions.length];
        const t0 = performance.now();
        try {
          const result =
            procedure === "activity.ping"
              ? await call(url, token, procedure, { sessionId })
              : await call(url, token, procedure, { sessionId }, "GET");
          if (result.written) writes += 1;
        } catch {
          errors += 1;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (p) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  console.log(JSON.stringify({ requests: latencies.length, seconds, perSecond: latencies.length / seconds, p50: pick(0.5), p99: pick(0.99), writesPerSecond: writes / seconds, errors }));
}

function runClient(spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_CLIENT: JSON.stringify(spec) }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop())) : reject(new Error(`bench client exited ${code}`))));
  });
}

function startApp(dataDir) {
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: root,
    env: { ...process.env, TORPOR_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", TORPOR_LOG_LEVEL: "warn", TORPOR_ACTIVITY_COALESCE_MS: String(COALESCE_MS) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /TORPOR_READY (\{.*\})/.exec(out);
      if (match) {
        const line = JSON.parse(match[1]); // the token is in a file, never on stdout
        resolve({ ...line, token: readFileSync(line.tokenFile, "utf8").trim(), stop: () => (child.kill("SIGTERM"), exited) });
      }
    });
    exited.then((code) => reject(new Error(`app exited (${code}) before it was ready:\n${out}`)));
  });
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "torpor-bench-load-"));
  const app = await startApp(dataDir);
  try {
    const sessions = [];
    for (let i = 0; i < SESSIONS; i++) sessions.push((await call(app.url, app.token, "sessions.create", { idleTimeoutMs: 3600_000 })).id);
    const spec = { url: app.url, token: app.token, sessions };
    const baseline = await runClient({ ...spec, procedure: "sessions.get" });
    const pings = await runClient({ ...spec, procedure: "activity.ping" });
    const rows = [
      ["sessions.get (baseline)", baseline],
      ["activity.ping", pings],
    ];
    console.log(`\nload: ${SESSIONS} sessions, ${CONCURRENCY} concurrent requests for ${SECONDS} s from a second process (loopback HTTP), activity coalesced over ${COALESCE_MS} ms`);
    console.log("| procedure | req/s | p50 ms | p99 ms | store writes/s | errors | vs baseline |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const [name, r] of rows) {
      console.log(`| ${name} | ${r.perSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${name.startsWith("activity") ? r.writesPerSecond.toFixed(1) : "–"} | ${r.errors} | ${(r.perSecond / baseline.perSecond).toFixed(2)}× |`);
    }
    mkdirSync(path.join(root, "bench-output"), { recursive: true });
    writeFileSync(path.join(root, "bench-output", "load.json"), JSON.stringify({ sessions: SESSIONS, concurrency: CONCURRENCY, seconds: SECONDS, coalesceMs: COALESCE_MS, baseline, pings }, null, 2));
    if (pings.errors > 0 || baseline.errors > 0) process.exitCode = 1;
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_CLIENT) await client();
else await main();
