/**
 * The hostile-sandbox layer of the fault suite (issue 14), under real bubblewrap: the session's
 * own start command attacks while Torpor works on its workspace. It swaps a folder for a symlink
 * to a host folder holding secrets, swaps files for FIFOs, leaves a FIFO, a unix socket and a
 * setuid copy of a shell, and tries the host's loopback ports. Meanwhile the host takes
 * snapshots, reads files through the provider (the API's path), hibernates, resumes from the
 * checkpoint into a new sandbox, and restores into a folder. Counted and printed:
 *   host reads: a checkpoint, a read or a restore that holds a secret's bytes, or a host file changed;
 *   freezes: the host's event loop stalled for more than 2 s;
 *   setuid files: a file with a setuid/setgid bit in a workspace, a manifest or a restored folder.
 */
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localDirTarget } from "../../src/checkpoint";
import { requestId, runWorkflow, startWorkflowRuntime, waitUntil, type WorkflowRuntime } from "../helpers/runtime";

const SECRET = `host-secret-${process.pid}-${Date.now()}`;
const hostDir = mkdtempSync(path.join(tmpdir(), "torpor-hostile-host-"));
const restoreDir = mkdtempSync(path.join(tmpdir(), "torpor-hostile-restore-"));
let rt: WorkflowRuntime;
let server: Server;
let port = 0;
let connections = 0;

/** The attacker, as the session's start command (inside the sandbox, cwd /workspace). */
function attacker(hostFolder: string, hostPort: number): string {
  return [
    "mkdir -p real/sub && echo 'tenant data' > real/sub/f.txt && echo 'tenant data 2' > real/sub/g.txt",
    "mkfifo fifo-left-here",
    // A unix socket that stays: python3 is in /usr, bound read-only.
    `(python3 -c "import socket,time; s=socket.socket(socket.AF_UNIX); s.bind('sock'); time.sleep(100000)" &)`,
    "cp /bin/sh ./suid-sh && chmod 4755 ./suid-sh; chmod 6755 real/sub/f.txt",
    // Try the host's loopback (the app's and the object store's ports live there).
    `(for i in 1 2 3; do python3 -c "import socket; socket.create_connection(('127.0.0.1', ${hostPort}), 1)" && echo reached >> reached.log; sleep 1; done &)`,
    // The swap loop: the folder becomes a link to the host folder and back; a file becomes a FIFO and back.
    "i=0; while true; do i=$((i+1));",
    `  mv real real.aside 2>/dev/null; ln -s ${hostFolder} real 2>/dev/null; rm -f real 2>/dev/null; mv real.aside real 2>/dev/null;`,
    "  rm -f real/sub/g.txt; mkfifo real/sub/g.txt 2>/dev/null; rm -f real/sub/g.txt; echo 'tenant data 2' > real/sub/g.txt;",
    "  [ $((i % 50)) -eq 0 ] && echo $i > counter.txt;",
    "done",
  ].join("\n");
}

/** Codes a walk of a live workspace meets when the attacker swaps a path between two calls. */
const RACED = new Set(["ENOENT", "ENOTDIR", "ELOOP", "ENXIO"]);
const raced = (err: unknown) => RACED.has((err as NodeJS.ErrnoException).code ?? "");

/**
 * Regular files under `dir`. The folders this walks may still be changed by a running attacker
 * (the restored sandbox runs its start command again), so an entry that vanishes or changes type
 * between the listing and the lstat is skipped, not an error.
 */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (err) {
      if (raced(err)) return;
      throw err;
    }
    for (const name of names) {
      const p = path.join(d, name);
      let st;
      try {
        st = lstatSync(p);
      } catch (err) {
        if (raced(err)) continue;
        throw err;
      }
      if (st.isDirectory()) walk(p);
      // Regular files only: a FIFO would block this test's own read, a link is never followed.
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * A file's mode, owner and bytes read the way a hostile folder must be read: no link followed, a
 * FIFO swapped in after the listing never blocks (O_NONBLOCK), and the checks are made on the
 * opened descriptor. Null when the path is gone or is no longer a regular file.
 */
function readRegular(file: string): { mode: number; uid: number; bytes: Buffer } | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (raced(err)) return null;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    return { mode: st.mode, uid: st.uid, bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  // The host folder the attacker points its link at: a secret where the tenant's files would be.
  mkdirSync(path.join(hostDir, "sub"), { recursive: true });
  writeFileSync(path.join(hostDir, "sub", "f.txt"), SECRET);
  writeFileSync(path.join(hostDir, "sub", "g.txt"), SECRET);
  writeFileSync(path.join(hostDir, "secret.txt"), SECRET);
  server = createServer((socket) => {
    connections++;
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
  rt = await startWorkflowRuntime({ env: { TORPOR_BWRAP: "required" } });
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  // The attacker may still run (a failed assertion skips the test's end): stop every sandbox first.
  for (const s of (await rt?.runtime.store.listSessions({ limit: 100 }).catch(() => [])) ?? []) {
    if (s.sandboxId) await rt.runtime.sandboxes.kill(s.sandboxId).catch(() => undefined);
  }
  await rt?.close();
  rmSync(hostDir, { recursive: true, force: true });
  rmSync(restoreDir, { recursive: true, force: true });
});

describe("a hostile sandbox under bubblewrap", () => {
  it("gets no host read, no freeze and no setuid file out of snapshots, reads, hibernate, resume and restore", async () => {
    const { runtime } = rt;
    const sandbox = await runtime.sandboxes.create({ template: "base", startCommand: attacker(hostDir, port) });
    const session = await runtime.store.createSession({
      ownerId: "mallory",
      provider: runtime.sandboxes.kind,
      template: "base",
      idleTimeoutMs: 3_600_000,
      sandboxId: sandbox.id,
      hooks: { startCommand: attacker(hostDir, port) },
    });
    await waitUntil("the swap loop to run", () => runtime.sandboxes.readFile(sandbox.id, "counter.txt").catch(() => null), (b) => b !== null);

    // A stall of the host's event loop is a freeze (a FIFO opened for reading blocks in open()).
    let lastTick = Date.now();
    let longestStall = 0;
    const ticker = setInterval(() => {
      const now = Date.now();
      longestStall = Math.max(longestStall, now - lastTick);
      lastTick = now;
    }, 50);

    let attacks = 0;
    let hostReads = 0;
    const holdsSecret = (bytes: Buffer | string) => Buffer.from(bytes).includes(SECRET);
    const checkpoints: string[] = [];
    try {
      for (let round = 0; round < 6; round++) {
        const snap = await runWorkflow(rt, { name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: `round ${round}`, requestId: requestId("hostile") } });
        attacks++;
        if (snap.status === "completed") {
          const id = (snap.result as { checkpointId?: string } | undefined)?.checkpointId ?? (await runtime.store.getSession(session.id)).latestCheckpointId;
          if (id) checkpoints.push(id);
        }
        // The API's reads: a swapped path, a FIFO, a socket, a file under the swapped folder.
        for (const p of ["real/sub/f.txt", "real/sub/g.txt", "fifo-left-here", "sock", "real/secret.txt"]) {
          attacks++;
          const got = await runtime.sandboxes.readFile(sandbox.id, p).catch(() => null);
          if (got && holdsSecret(got)) hostReads++;
        }
        // A write through the swapped folder must not land in the host folder.
        attacks++;
        await runtime.sandboxes.writeFile(sandbox.id, "real/sub/written.txt", "from the host").catch(() => undefined);
      }
      // Hibernate (freeze, checkpoint, pause), archive, resume: a restore into a new sandbox.
      for (const name of ["torpor/session.hibernate.requested", "torpor/session.archive.requested", "torpor/session.resume.requested"] as const) {
        attacks++;
        const run = await runWorkflow(rt, { name, data: { sessionId: session.id, reason: "hostile test", requestId: requestId("hostile") } });
        expect(run.status, `${name}: ${run.error ?? ""}`).toBe("completed");
      }
    } finally {
      clearInterval(ticker);
    }
    const after = await runtime.store.getSession(session.id);
    expect(after.state).toBe("running");
    if (after.latestCheckpointId) checkpoints.push(after.latestCheckpointId);

    // Every checkpoint: restored into a folder (the CLI's path), searched for the secret and setuid bits.
    let setuidFiles = 0;
    for (const [i, id] of [...new Set(checkpoints)].entries()) {
      const manifest = await runtime.checkpoints.readManifest(id);
      setuidFiles += manifest.entries.filter((e) => (e.mode & 0o7000) !== 0).length;
      const out = path.join(restoreDir, `cp-${i}`);
      await runtime.checkpoints.restore(id, localDirTarget(out));
      for (const file of filesUnder(out)) {
        if (holdsSecret(readFileSync(file))) hostReads++;
        if ((statSync(file).mode & 0o7000) !== 0) setuidFiles++;
      }
    }
    // The new sandbox's workspace, as the host sees it. It runs the attacker again, so it is paused
    // first (a local pause stops every process of the sandbox): a walk of a folder still being swapped
    // could follow a fresh link into the host folder and count the host's own secret as a leak.
    await runtime.sandboxes.pause(after.sandboxId!);
    const workspace = path.join(runtime.config.sandbox.kind === "local" ? runtime.config.sandbox.root : "", after.sandboxId!, "workspace");
    for (const file of filesUnder(workspace)) {
      const got = readRegular(file);
      if (got && (got.mode & 0o6000) !== 0 && got.uid === 0) setuidFiles++;
      if (got && holdsSecret(got.bytes)) hostReads++;
    }
    // Nothing was written into the host folder.
    const hostFiles = filesUnder(hostDir).map((f) => path.relative(hostDir, f)).sort();
    if (hostFiles.join(",") !== ["secret.txt", "sub/f.txt", "sub/g.txt"].join(",")) hostReads++;
    for (const f of ["secret.txt", "sub/f.txt", "sub/g.txt"]) if (readFileSync(path.join(hostDir, f), "utf8") !== SECRET) hostReads++;
    attacks += 3; // the loopback connection attempts
    const freezes = longestStall > 2000 ? 1 : 0;

    console.log(`hostile sandbox: ${attacks} attacks, ${hostReads} host reads, ${freezes} freezes, ${setuidFiles} setuid files, ${connections} host connections (longest stall ${longestStall} ms, ${checkpoints.length} checkpoints)`);
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(hostReads).toBe(0);
    expect(freezes).toBe(0);
    expect(setuidFiles).toBe(0);
    expect(connections).toBe(0);
    // Every snapshot succeeded: the checkpoint freezes a local sandbox while it reads it.
    expect(checkpoints.length).toBeGreaterThanOrEqual(6);
    // The tenant's own files came through: the checkpoint the new sandbox was restored from holds
    // them (under real/ or real.aside/, wherever the attacker had them when the sandbox froze). The
    // restored sandbox itself runs the attacker again, so reading it there is a race with the swap.
    const latest = [...new Set(checkpoints)].indexOf(after.latestCheckpointId!);
    expect(latest).toBeGreaterThanOrEqual(0);
    const tenantFiles = filesUnder(path.join(restoreDir, `cp-${latest}`)).filter((f) => readFileSync(f, "utf8").includes("tenant data"));
    expect(tenantFiles.map((f) => path.basename(f))).toContain("f.txt");
  }, 300_000);
});
