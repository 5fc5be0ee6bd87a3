// A/B rounds for tuning the checkpoint engine: restic and one or more builds of the torpor CLI,
// alternating, on the data a previous `npm run bench -- checkpoint` left in its folder (the
// workspace ws-a, the S3 data, restic's repository). Each command runs as a whole process under
// /usr/bin/time; the line shows wall, user and sys seconds, the S3 server's CPU seconds and peak RSS.
//
//   node bench/ab.mjs restore [cli.mjs …]   restores of the bench's last torpor checkpoint and of
//                                           restic's snapshot, into AB_TARGET (fresh each time,
//                                           after a sync and a 6 s pause: see "Two filesystems")
//   node bench/ab.mjs snapshot [cli.mjs …]  full backups into a fresh restic repository and a
//                                           fresh torpor prefix each round
//   node bench/ab.mjs incremental [cli.mjs …]  the bench's 1-file incremental: each build takes one
//                                           full snapshot of ws-a into a prefix of its own (not
//                                           timed), then each round appends to the bench's file and
//                                           each build snapshots with --parent its full (restic:
//                                           a backup into a repository that holds ws-a already)
//
// A build to compare: `node scripts/build-node.mjs && cp dist/cli.mjs /somewhere/cli-a.mjs`, with
// a node_modules symlink next to it (the bundle keeps npm packages external). Settings:
// AB_ROUNDS (3), AB_TARGET (a folder for the restores, default under the bench folder),
// BENCH_DIR (where the bench ran), AB_ONLY_TORPOR=1, AB_NODE_FLAGS (e.g. "--cpu-prof"), AB_STDERR=1
// (pass each CLI run's stderr through, e.g. what a --require preload in AB_NODE_FLAGS prints).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { shebangEnv } from "./fixtures/torpor-env.mjs";
import { listFiles, touchFiles } from "./fixtures/workspace.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = process.env.BENCH_DIR ? path.resolve(process.env.BENCH_DIR) : path.join(ROOT, "bench-output", "checkpoint");
const RESULTS = path.join(OUT, "results.json");
const [mode, ...clis] = process.argv.slice(2);
const builds = clis.length > 0 ? clis.map((c) => path.resolve(c)) : [path.join(ROOT, "dist", "cli.mjs")];
const rounds = Number(process.env.AB_ROUNDS ?? 3);
const target = path.resolve(process.env.AB_TARGET ?? path.join(OUT, "ab-restore"));
const nodeFlags = process.env.AB_NODE_FLAGS ? process.env.AB_NODE_FLAGS.split(" ") : [];

if (mode !== "restore" && mode !== "snapshot" && mode !== "incremental") {
  console.error("usage: node bench/ab.mjs restore|snapshot|incremental [cli.mjs …]");
  process.exit(2);
}
for (const needed of [path.join(OUT, "s3", "restic"), path.join(OUT, "ws-a"), RESULTS]) {
  if (!existsSync(needed)) {
    console.error(`missing ${needed}: run \`npm run bench -- checkpoint\` first (with the same BENCH_DIR)`);
    process.exit(1);
  }
}

const tls = path.join(OUT, "tls");
const cert = path.join(tls, "cert.pem");
const server = spawn(process.execPath, [path.join(ROOT, "bench/fixtures/baselines/s3-server.mjs"), path.join(OUT, "s3"), path.join(tls, "key.pem"), cert, "restic", "torpor", "ab-runs"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const port = await new Promise((resolve, reject) => {
  server.stdout.once("data", (d) => resolve(JSON.parse(d.toString()).port));
  server.once("exit", (code) => reject(new Error(`s3 server exited (${code})`)));
});
const endpoint = `https://127.0.0.1:${port}`;
const serverCpu = () => {
  const fields = readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const s3Auth = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };
/** Restores read the bench's bucket; snapshots go to fresh prefixes of the "ab-runs" bucket, removed at the end. */
const torporEnv = (bucket, prefix) => ({
  ...process.env, ...shebangEnv(ROOT), ...s3Auth, NODE_EXTRA_CA_CERTS: cert, TORPOR_OBJECT_STORE: "s3", S3_ENDPOINT: endpoint,
  S3_BUCKET: bucket, S3_PREFIX: prefix, TORPOR_DATA_DIR: path.join(OUT, "ab-data"),
});
const resticArgs = ["--cacert", cert, "-o", "s3.bucket-lookup=path", "--quiet"];
const resticEnv = (repo) => ({ ...process.env, ...s3Auth, RESTIC_REPOSITORY: `s3:${endpoint}/${repo}`, RESTIC_PASSWORD: "bench", RESTIC_CACHE_DIR: path.join(OUT, "ab-restic-cache") });

function timed(label, cmd, args, env) {
  execFileSync("sync");
  const before = serverCpu();
  const timeFile = path.join(OUT, "ab-time.txt");
  const run = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, cmd, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  if (process.env.AB_STDERR) process.stderr.write(run.stderr);
  if (run.status !== 0) throw new Error(`${label} failed: ${run.stderr.toString().slice(-2000)}`);
  const [wall, user, sys, kb] = readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
  const cpu = (serverCpu() - before).toFixed(2);
  const stdout = run.stdout.toString();
  // The engine's own figure (the CLI's --json "seconds"): wall minus it is start-up and exit.
  const engine = /"seconds":([0-9.]+)/.exec(stdout.split("\n").filter(Boolean).pop() ?? "")?.[1];
  const inner = engine ? `  engine ${Number(engine).toFixed(2)}` : "";
  console.log(`${label.padEnd(24)} wall ${wall.toFixed(2)}  user ${user.toFixed(2)}  sys ${sys.toFixed(2)}  server ${cpu}  rss ${(kb / 1024).toFixed(0)} MB${inner}`);
  return stdout;
}

/** The bench's 1-file case: the same file (the first under src/), appended to before each round. */
async function incrementalRounds() {
  const ws = path.join(OUT, "ws-a");
  const changed = listFiles(ws).find((f) => f.startsWith("src/"));
  const repos = builds.map((_, i) => `inc-${Date.now()}-${i}/`);
  const fulls = builds.map((cli, i) => {
    const out = execFileSync(process.execPath, ["--openssl-legacy-provider", cli, "snapshot", ws, "--json"], { env: torporEnv("ab-runs", repos[i]) }).toString();
    return JSON.parse(out.trim().split("\n").pop()).checkpoint;
  });
  const resticRepo = `ab-runs/inc-restic-${Date.now()}`;
  if (!process.env.AB_ONLY_TORPOR) {
    execFileSync("restic", [...resticArgs, "init"], { env: resticEnv(resticRepo), stdio: ["ignore", "ignore", "inherit"] });
    execFileSync("restic", [...resticArgs, "backup", ws], { env: resticEnv(resticRepo), stdio: ["ignore", "ignore", "inherit"] });
  }
  for (let round = 0; round < rounds; round++) {
    touchFiles(ws, [changed]);
    // Builds take turns at going first, so that none always runs right after the file changed.
    const order = builds.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    if (!process.env.AB_ONLY_TORPOR) timed("restic", "restic", [...resticArgs, "backup", ws], resticEnv(resticRepo));
    for (const i of order) {
      timed(path.basename(builds[i]), process.execPath, ["--openssl-legacy-provider", ...nodeFlags, builds[i], "snapshot", ws, "--parent", fulls[i], "--json"], torporEnv("ab-runs", repos[i]));
    }
  }
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 6000));
try {
  const checkpoint = JSON.parse(readFileSync(RESULTS, "utf8")).pct.checkpoint;
  if (mode === "incremental") await incrementalRounds();
  const snapshot = mode === "restore" ? JSON.parse(execFileSync("restic", [...resticArgs, "snapshots", "--json"], { env: resticEnv("restic") }))[0].short_id : "";
  for (let round = 0; mode !== "incremental" && round < rounds; round++) {
    const tools = [...(process.env.AB_ONLY_TORPOR ? [] : ["restic"]), ...builds];
    for (const tool of tools) {
      const label = tool === "restic" ? "restic" : path.basename(tool);
      if (mode === "restore") {
        rmSync(target, { recursive: true, force: true });
        execFileSync("sync");
        await pause(); // older than the kernel's "recently deleted" window (5 s once written back)
        if (tool === "restic") timed(label, "restic", [...resticArgs, "restore", snapshot, "--target", target], resticEnv("restic"));
        else timed(label, process.execPath, ["--openssl-legacy-provider", ...nodeFlags, tool, "restore", checkpoint, target, "--json"], torporEnv("torpor", ""));
      } else {
        const fresh = `ab-${Date.now()}-${round}`;
        if (tool === "restic") {
          execFileSync("restic", [...resticArgs, "init"], { env: resticEnv(`ab-runs/${fresh}`), stdio: ["ignore", "ignore", "inherit"] });
          timed(label, "restic", [...resticArgs, "backup", path.join(OUT, "ws-a")], resticEnv(`ab-runs/${fresh}`));
        } else {
          timed(label, process.execPath, ["--openssl-legacy-provider", ...nodeFlags, tool, "snapshot", path.join(OUT, "ws-a"), "--json"], torporEnv("ab-runs", `${fresh}/`));
        }
      }
    }
  }
} finally {
  server.kill("SIGTERM");
  rmSync(target, { recursive: true, force: true });
  rmSync(path.join(OUT, "s3", "ab-runs"), { recursive: true, force: true });
  rmSync(path.join(OUT, "ab-data"), { recursive: true, force: true });
  rmSync(path.join(OUT, "ab-restic-cache"), { recursive: true, force: true });
}
