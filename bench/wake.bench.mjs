// Wake latency (issue 12, the idle policy's "fast, cheap wake"): how long a user whose editor
// regains focus waits for a paused session, through the whole embedded system (tRPC callers, the
// embedded engine's resume run, SQLite, a local sandbox under bubblewrap when the host has it).
// Each round: the session is paused (hibernateNow, wait for paused); then the editor's focus ping
// (activity.ping, which starts the resume), sessions.waitReady (what the client awaits), and a
// first files.read (the first call that needs the sandbox). Baseline in the same run: the same
// files.read on the running session. Results: a table and bench-output/wake.json.
//
// Run: npm run bench -- wake   (WAKE_ROUNDS, default 10; WAKE_JSON=<file>)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { register } from "tsx/esm/api";

register();
const { loadConfig } = await import("../src/core/config.ts");
const { createRuntime } = await import("../src/runtime/index.ts");
const { createContextInner } = await import("../src/server/context.ts");
const { createCaller } = await import("../src/server/routers/index.ts");

const ROUNDS = Number(process.env.WAKE_ROUNDS ?? 10);
const dir = mkdtempSync(path.join(tmpdir(), "torpor-bench-wake-"));
const config = loadConfig({ TORPOR_DATA_DIR: dir, TORPOR_LOG_LEVEL: "warn" });
const runtime = await createRuntime(config, { log: () => {} });
const api = createCaller(createContextInner({ deps: runtime, principal: { userId: "bench", role: "user" } }));

const ms = (start) => performance.now() - start;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.9) - 1)];
async function until(what, read, ok, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

try {
  const { id } = await api.sessions.create({ startCommand: "sleep 100000" });
  await api.files.write({ sessionId: id, path: "src/index.ts", content: "export const x = 1;\n" });
  const rounds = [];
  const baseline = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    await api.files.read({ sessionId: id, path: "src/index.ts" });
    baseline.push(ms(t));

    await api.sessions.hibernateNow({ sessionId: id });
    await until("paused", () => runtime.store.getSession(id), (s) => s.state === "paused" && s.lease === null);
    await new Promise((resolve) => setTimeout(resolve, 200));

    t = performance.now();
    const ping = await api.activity.ping({ sessionId: id });
    if (!ping.waking) throw new Error(`round ${r + 1}: the ping did not start a resume`);
    const ready = await api.sessions.waitReady({ sessionId: id, timeoutMs: 20_000 });
    const readyMs = ms(t);
    if (!ready.ready) throw new Error(`round ${r + 1}: not ready after 20 s`);
    const { content } = await api.files.read({ sessionId: id, path: "src/index.ts" });
    const firstReadMs = ms(t);
    if (content !== "export const x = 1;\n") throw new Error(`round ${r + 1}: the file changed across the wake`);
    await until("the resume run's lease released", () => runtime.store.getSession(id), (s) => s.lease === null);
    const [run] = await runtime.store.listRuns({ sessionId: id, workflow: "resume-session", limit: 1 });
    rounds.push({ readyMs, firstReadMs, runMs: run.endedAt - run.startedAt });
  }

  const ready = rounds.map((x) => x.readyMs);
  const first = rounds.map((x) => x.firstReadMs);
  const run = rounds.map((x) => x.runMs);
  const base = median(baseline);
  const fmt = (x) => `${x.toFixed(1)} ms`;
  console.log(`\nWake of a paused session, local provider under bubblewrap, ${ROUNDS} rounds\n`);
  console.log("| measure | median | p90 | vs baseline |");
  console.log("|---|---:|---:|---:|");
  console.log(`| files.read on the running session (baseline) | ${fmt(base)} | ${fmt(p90(baseline))} | 1.00x |`);
  console.log(`| the resume run, start to end (the store's run record, ms resolution) | ${fmt(median(run))} | ${fmt(p90(run))} | ${(median(run) / base).toFixed(1)}x |`);
  console.log(`| focus ping → sessions.waitReady answers ready | ${fmt(median(ready))} | ${fmt(p90(ready))} | ${(median(ready) / base).toFixed(1)}x |`);
  console.log(`| focus ping → first files.read answered | ${fmt(median(first))} | ${fmt(p90(first))} | ${(median(first) / base).toFixed(1)}x |`);
  const out = process.env.WAKE_JSON ?? path.join("bench-output", "wake.json");
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ rounds, baseline }, null, 2));
} finally {
  await runtime.close();
  const sandboxes = runtime.sandboxes;
  for (const s of (await sandboxes.findSandboxes?.({}).catch(() => [])) ?? []) await sandboxes.kill(s.id).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
