// Checkpoint benchmark (issue #2). One run, one S3 server (s3rver over HTTPS, one bucket per tool),
// every command timed as a whole process with /usr/bin/time (wall seconds, peak RSS):
//   A  tar + gzip of the folder as one object; download + untar
//   B  one PUT per file, 16 at a time; one GET per file to restore
//   C  restic (Debian package) on its S3 backend: full, after 1 changed file, after 1 % changed, restore
//      (restic and torpor restore four times each, taking turns at going first; medians count)
//   T  torpor CLI: the same, plus a second workspace that shares node_modules
// The workspace is a real node_modules (npm ci of bench/fixtures/next-app, cached in bench-output/)
// plus a generated source tree. Results: a table on stdout and bench-output/checkpoint-results.json.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureNodeModules as ensureNodeModules_, sh } from "./fixtures/setup.mjs";
import { shebangEnv } from "./fixtures/torpor-env.mjs";
import { generateSources, summarize, listFiles, touchFiles } from "./fixtures/workspace.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// BENCH_DIR puts the workspaces, the S3 data and the restores on another filesystem (see
// docs/checkpoints.md: restore times on ext4 without a journal depend on recent deletions).
const OUT = process.env.BENCH_DIR ? path.resolve(process.env.BENCH_DIR) : path.join(ROOT, "bench-output", "checkpoint");
const CACHE = path.join(ROOT, "bench-output", "cache", "next-app");
const FIXTURE = path.join(ROOT, "bench", "fixtures", "next-app");
const BASELINES = path.join(ROOT, "bench", "fixtures", "baselines");
const TORPOR_CLI = path.join(ROOT, "dist", "cli.mjs");
const MB = 1024 * 1024;
/**
 * Full restores of restic and torpor, each (BENCH_RESTORE_ROUNDS, default 4, even): in rounds
 * that take turns at going first, so that each tool goes first as often as second. The median
 * counts.
 */
const RESTORE_ROUNDS = Math.max(1, Number(process.env.BENCH_RESTORE_ROUNDS ?? 4));

/** The median time (of an even count: the mean of the middle two), the highest peak RSS, every time. */
function median(runs) {
  const sorted = [...runs].map((x) => x.seconds).sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const seconds = sorted.length % 2 === 1 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { seconds, rssMB: Math.max(...runs.map((x) => x.rssMB)), rounds: runs.map((x) => x.seconds), stdout: runs[0].stdout };
}

/** BENCH_QUICK=1 skips baselines A and B (the slow ones) while tuning Torpor against restic. */
const QUICK = process.env.BENCH_QUICK === "1";
const SKIPPED = { seconds: NaN, rssMB: NaN, stdout: "" };


/** Runs one command as a whole process under /usr/bin/time; returns wall seconds, peak RSS, stdout. */
function timed(label, cmd, args, env = {}) {
  const timeFile = path.join(OUT, "time.txt");
  // Flush dirty pages first, so that no run pays for the previous one's writeback.
  execFileSync("sync");
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %M", "-o", timeFile, cmd, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`${label} failed (${code}): ${stderr.slice(-2000)}`));
      const [seconds, kb] = readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
      console.log(`  ${label.padEnd(34)} ${seconds.toFixed(2).padStart(7)} s  ${(kb / 1024).toFixed(0).padStart(5)} MB RSS`);
      resolve({ seconds, rssMB: kb / 1024, stdout });
    });
  });
}

function ensureNodeModules() {
  ensureNodeModules_(CACHE, FIXTURE);
}

function makeWorkspace(dir, seed) {
  rmSync(dir, { recursive: true, force: true });
  sh("cp", ["-a", CACHE, dir]);
  generateSources(path.join(dir, "src"), seed);
}

/** Type, source and mount options of the filesystem holding `dir` (the restores' cost depends on it). */
function filesystemOf(dir) {
  let fs;
  try {
    fs = sh("findmnt", ["-n", "-o", "FSTYPE,SOURCE", "-T", dir]).trim().split(/\s+/);
  } catch {
    return "an unknown filesystem";
  }
  const [type, source] = fs;
  if (type !== "ext4") return `${type} (${source})`;
  // A journaled ext4 has an entry in /proc/fs/jbd2 named after its device.
  const device = path.basename(source);
  if (!existsSync(`/proc/fs/ext4/${device}`)) return `ext4 (${source})`;
  const journaled = existsSync("/proc/fs/jbd2") && readdirSync("/proc/fs/jbd2").some((name) => name.startsWith(`${device}-`));
  return `ext4 (${source}, ${journaled ? "with" : "without"} a journal)`;
}

function duBytes(dir) {
  return Number(sh("du", ["-sb", dir]).split("\t")[0]);
}

async function startServer() {
  const tls = path.join(OUT, "tls");
  mkdirSync(tls, { recursive: true });
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${tls}/key.pem`, "-out", `${tls}/cert.pem`,
    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const child = spawn(process.execPath, [path.join(BASELINES, "s3-server.mjs"), path.join(OUT, "s3"), `${tls}/key.pem`, `${tls}/cert.pem`,
    "tar", "perfile", "restic", "torpor"], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(JSON.parse(d.toString()).port));
    child.once("exit", (code) => reject(new Error(`s3 server exited (${code})`)));
  });
  const stop = () => new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });
  return { stop, endpoint: `https://127.0.0.1:${port}`, cert: `${tls}/cert.pem` };
}

async function main() {
  ensureNodeModules();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  // bin/torpor rebuilds dist/cli.mjs when it is missing or older than the CLI's sources.
  sh(path.join(ROOT, "bin", "torpor"), ["help"]);
  const wsA = path.join(OUT, "ws-a");
  const wsB = path.join(OUT, "ws-b");
  makeWorkspace(wsA, 1);
  makeWorkspace(wsB, 2);
  const shape = summarize(wsA);
  console.log(`workspace: ${shape.files} files, ${(shape.bytes / MB).toFixed(0)} MB (${shape.dirs} dirs, ${shape.symlinks} symlinks)`);
  shape.filesystem = filesystemOf(OUT);
  console.log(`filesystem: ${shape.filesystem}`);

  const { stop, endpoint, cert } = await startServer();
  const s3 = (bucket) => path.join(OUT, "s3", bucket);
  const baseEnv = { NODE_EXTRA_CA_CERTS: cert, BENCH_S3_ENDPOINT: endpoint };
  // What bin/torpor runs (its shebang's variables), minus its rebuild-if-stale check: other
  // workstreams editing src/ during a bench run must not trigger a rebuild mid-measurement.
  const torporEnv = {
    ...baseEnv, ...shebangEnv(ROOT), TORPOR_OBJECT_STORE: "s3", S3_ENDPOINT: endpoint, S3_BUCKET: "torpor",
    AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", TORPOR_DATA_DIR: path.join(OUT, "torpor-data"),
  };
  const resticEnv = {
    RESTIC_REPOSITORY: `s3:${endpoint}/restic`, RESTIC_PASSWORD: "bench", AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER", RESTIC_CACHE_DIR: path.join(OUT, "restic-cache"),
  };
  const resticArgs = ["--cacert", cert, "-o", "s3.bucket-lookup=path", "--quiet"];
  const r = {};
  const out = (name) => path.join(OUT, `restore-${name}`);

  try {
    console.log("full backups");
    const tgz = path.join(OUT, "ws.tar.gz");
    r.tarFull = QUICK ? SKIPPED : await timed("A tar+gzip + PUT", "sh", ["-c", `tar -C "${wsA}" -czf "${tgz}" . && node "${BASELINES}/put-file.mjs" "${tgz}" ws.tar.gz`], { ...baseEnv, BENCH_S3_BUCKET: "tar" });
    rmSync(tgz, { force: true });
    r.perFileFull = QUICK ? SKIPPED : await timed("B one PUT per file", "node", [`${BASELINES}/per-file.mjs`, "put", wsA, "full"], { ...baseEnv, BENCH_S3_BUCKET: "perfile" });
    await timed("C restic init (not counted)", "restic", [...resticArgs, "init"], resticEnv);
    r.resticFull = await timed("C restic backup", "restic", [...resticArgs, "backup", wsA], resticEnv);
    r.torporFull = await timed("T torpor snapshot", "node", ["--openssl-legacy-provider", TORPOR_CLI, "snapshot", wsA, "--json"], torporEnv);
    const full = JSON.parse(r.torporFull.stdout.trim().split("\n").pop());
    r.storedAfterFull = { tar: duBytes(s3("tar")), perfile: duBytes(s3("perfile")), restic: duBytes(s3("restic")), torpor: duBytes(s3("torpor")) };

    console.log("after changing 1 file");
    const files = listFiles(wsA);
    const oneChanged = touchFiles(wsA, [files.find((f) => f.startsWith("src/"))]);
    r.resticOne = await timed("C restic backup (1 file)", "restic", [...resticArgs, "backup", wsA], resticEnv);
    r.torporOne = await timed("T torpor snapshot (1 file)", "node", ["--openssl-legacy-provider", TORPOR_CLI, "snapshot", wsA, "--parent", full.checkpoint, "--json"], torporEnv);
    const one = JSON.parse(r.torporOne.stdout.trim().split("\n").pop());
    one.changedBytes = oneChanged;

    console.log("after changing 1 % of files");
    const onePercent = files.filter((_, i) => i % 100 === 37);
    const pctChanged = touchFiles(wsA, onePercent);
    r.resticPct = await timed(`C restic backup (${onePercent.length} files)`, "restic", [...resticArgs, "backup", wsA], resticEnv);
    r.torporPct = await timed(`T torpor snapshot (${onePercent.length} files)`, "node", ["--openssl-legacy-provider", TORPOR_CLI, "snapshot", wsA, "--parent", one.checkpoint, "--json"], torporEnv);
    const pct = JSON.parse(r.torporPct.stdout.trim().split("\n").pop());
    pct.changedBytes = pctChanged;
    r.storedAfterIncr = { restic: duBytes(s3("restic")), torpor: duBytes(s3("torpor")) };

    console.log("full restores (of the full backup)");
    r.tarRestore = QUICK ? SKIPPED : await timed("A GET + gunzip + untar", "sh", ["-c", `mkdir -p "${out("tar")}" && node "${BASELINES}/get-object.mjs" ws.tar.gz | tar -C "${out("tar")}" -xzf -`], { ...baseEnv, BENCH_S3_BUCKET: "tar" });
    r.perFileRestore = QUICK ? SKIPPED : await timed("B one GET per file", "node", [`${BASELINES}/per-file.mjs`, "get", "full", out("perfile")], { ...baseEnv, BENCH_S3_BUCKET: "perfile" });
    const resticSnap = JSON.parse(sh("restic", [...resticArgs, "snapshots", "--json"], { env: { ...process.env, ...resticEnv } }))[0].short_id;
    // restic and torpor restore RESTORE_ROUNDS times each, taking turns at going first, into new
    // folders (nothing deleted in between: see docs/checkpoints.md, "Two filesystems"); the
    // table shows each one's median. A restore runs slower the more the filesystem has just
    // written, so whichever went second more often would pay for it.
    const sourceShape = summarize(wsA);
    const rounds = { restic: [], torpor: [] };
    for (let round = 0; round < RESTORE_ROUNDS; round++) {
      const restic = () => timed(`C restic restore (round ${round + 1})`, "restic", [...resticArgs, "restore", resticSnap, "--target", out(`restic-${round}`)], resticEnv);
      const torpor = () => timed(`T torpor restore (round ${round + 1})`, "node", ["--openssl-legacy-provider", TORPOR_CLI, "restore", pct.checkpoint, out(`torpor-${round}`), "--json"], torporEnv);
      for (const [name, run] of round % 2 === 0 ? [["restic", restic], ["torpor", torpor]] : [["torpor", torpor], ["restic", restic]]) rounds[name].push(await run());
      const restoredShape = summarize(out(`torpor-${round}`));
      if (restoredShape.files !== sourceShape.files || restoredShape.bytes !== sourceShape.bytes || restoredShape.symlinks !== sourceShape.symlinks) {
        throw new Error(`torpor restore differs: ${JSON.stringify(restoredShape)} vs ${JSON.stringify(sourceShape)}`);
      }
    }
    r.resticRestore = median(rounds.restic);
    r.torporRestore = median(rounds.torpor);

    console.log("second workspace with the same node_modules");
    r.torporSecond = await timed("T torpor snapshot (workspace B)", "node", ["--openssl-legacy-provider", TORPOR_CLI, "snapshot", wsB, "--json"], torporEnv);
    const second = JSON.parse(r.torporSecond.stdout.trim().split("\n").pop());
    report({ shape, r, full, one, pct, second });
    for (const name of ["tar", "perfile"]) rmSync(out(name), { recursive: true, force: true });
    for (let round = 0; round < RESTORE_ROUNDS; round++) for (const name of ["restic", "torpor"]) rmSync(out(`${name}-${round}`), { recursive: true, force: true });
  } finally {
    await stop();
  }
}

function report({ shape, r, full, one, pct, second }) {
  const s = (x) => x.seconds.toFixed(2);
  const ratio = (a, b) => (a / b).toFixed(2) + "x";
  const mb = (b) => (b / MB).toFixed(1);
  const rows = [
    ["full backup (s)", s(r.tarFull), s(r.perFileFull), s(r.resticFull), s(r.torporFull), ratio(r.torporFull.seconds, r.resticFull.seconds), "≤ 1.00x"],
    ["full restore (s)", s(r.tarRestore), s(r.perFileRestore), s(r.resticRestore), s(r.torporRestore), ratio(r.torporRestore.seconds, r.resticRestore.seconds), "≤ 0.70x"],
    ["backup after 1 changed file (s)", "", "", s(r.resticOne), s(r.torporOne), ratio(r.torporOne.seconds, r.resticOne.seconds), "≤ 0.50x"],
    [`backup after 1 % changed (s)`, "", "", s(r.resticPct), s(r.torporPct), ratio(r.torporPct.seconds, r.resticPct.seconds), ""],
    ["stored after full (MB)", mb(r.storedAfterFull.tar), mb(r.storedAfterFull.perfile), mb(r.storedAfterFull.restic), mb(r.storedAfterFull.torpor), ratio(r.storedAfterFull.torpor, r.storedAfterFull.restic), "≤ 1.00x"],
    ["stored after incrementals (MB)", "", "", mb(r.storedAfterIncr.restic), mb(r.storedAfterIncr.torpor), ratio(r.storedAfterIncr.torpor, r.storedAfterIncr.restic), ""],
    ["peak RSS, full backup (MB)", r.tarFull.rssMB.toFixed(0), r.perFileFull.rssMB.toFixed(0), r.resticFull.rssMB.toFixed(0), r.torporFull.rssMB.toFixed(0), "", "T < 256"],
    ["peak RSS, restore (MB)", r.tarRestore.rssMB.toFixed(0), r.perFileRestore.rssMB.toFixed(0), r.resticRestore.rssMB.toFixed(0), r.torporRestore.rssMB.toFixed(0), "", "T < 256"],
  ];
  const header = ["", "A tar+gzip", "B PUT/file", "C restic", "T torpor", "T / C", "target"];
  const lines = [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`);
  const extra = [
    `Workspace: ${shape.files} files, ${mb(shape.bytes)} MB, ${shape.dirs} dirs, ${shape.symlinks} symlinks (node_modules of bench/fixtures/next-app + generated src/), on ${shape.filesystem}.`,
    `Full restores, ${RESTORE_ROUNDS} each, taking turns at going first (the table shows medians): restic ${r.resticRestore.rounds.map((x) => x.toFixed(2)).join(", ")} s; torpor ${r.torporRestore.rounds.map((x) => x.toFixed(2)).join(", ")} s.`,
    `Torpor 1-file incremental: changed ${one.changedBytes} bytes, uploaded ${one.uploadedBytes} bytes in ${one.uploadedObjects} objects (manifest included); target < 2x changed + manifest.`,
    `Torpor 1 % incremental: ${pct.files - pct.reusedFiles} files re-read, changed ${mb(pct.changedBytes)} MB, uploaded ${mb(pct.uploadedBytes)} MB.`,
    `Torpor second workspace (same node_modules, other src/): ${s(r.torporSecond)} s, uploaded ${mb(second.uploadedBytes)} MB of ${mb(second.bytes)} MB = ${((second.uploadedBytes / second.bytes) * 100).toFixed(2)} % (target < 5 %); peak RSS ${r.torporSecond.rssMB.toFixed(0)} MB.`,
    `Torpor peak RSS over all runs: ${Math.max(...[r.torporFull, r.torporOne, r.torporPct, r.torporRestore, r.torporSecond].map((x) => x.rssMB)).toFixed(0)} MB (target < 256 MB).`,
  ];
  console.log(`\n${lines.join("\n")}\n\n${extra.join("\n")}`);
  const results = JSON.stringify({ shape, r, full, one, pct, second }, null, 2);
  writeFileSync(path.join(ROOT, "bench-output", "checkpoint-results.json"), results);
  // Beside the data too, for bench/ab.mjs (which checkpoint to restore).
  writeFileSync(path.join(OUT, "results.json"), results);
  writeFileSync(path.join(ROOT, "bench-output", "checkpoint-table.md"), `${lines.join("\n")}\n\n${extra.map((e) => `- ${e}`).join("\n")}\n`);
}

await main();
