/**
 * The host side of a local workspace against a hostile sandbox: a process that swaps a workspace
 * folder for a symlink to a host folder as fast as it can while the host scans, reads, hashes,
 * exports and writes; FIFOs, sockets and devices where files are expected; setuid bits asked for.
 * Real files, a real attacker process, no mocks. (The code under test: src/localfs/safe-fs.ts.)
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import { hashFolderFiles, readWorkspaceFile, scanFolder, workspaceInPlaceReads, writeWorkspaceFile } from "../../src/localfs";
import { exportFolderTar, importFolderTar, workspaceImporter } from "../../src/sandbox/local/tar";
import { watchFolder } from "../../src/sandbox/local/watch";
import { expectCode, makeTar, readTar } from "./helpers";

const base = mkdtempSync(path.join(tmpdir(), "torpor-hostile-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Every file under `dir`, as paths relative to it. */
function listTree(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel))) {
    const r = rel === "" ? name : `${rel}/${name}`;
    out.push(r);
    if (lstatSync(path.join(dir, r)).isDirectory()) out.push(...listTree(dir, r));
  }
  return out.sort();
}

/**
 * The attacker, in Python for renameat2 (Node has none): swaps `victim` for a symlink to `host` and
 * back as fast as it can, in turns of 500 rounds each way: atomically (renameat2 RENAME_EXCHANGE
 * with a symlink beside it), and by rename aside + symlink, then back. On SIGTERM it puts the
 * folder back and prints how many swaps it made.
 */
const ATTACKER = `
import ctypes, os, shutil, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
victim, host = sys.argv[1], sys.argv[2]
swap, aside = victim + ".swap", victim + ".aside"
os.symlink(host, swap)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def exchange():
    return libc.renameat2(AT_FDCWD, victim.encode(), AT_FDCWD, swap.encode(), RENAME_EXCHANGE) == 0
swaps, i = 0, 0
print("ready", flush=True)
while not stop:
    i += 1
    if (i // 500) % 2 == 0:
        if exchange():
            swaps += 1
            exchange()
        continue
    try:
        os.rename(victim, aside)
        os.symlink(host, victim)
        swaps += 1
    except OSError:
        pass
    try:
        os.unlink(victim)
    except OSError:
        pass
    try:
        os.rename(aside, victim)
    except OSError:
        # the host made a new 'victim' folder while it was missing: drop it, put the real one back
        if os.path.isdir(aside) and not os.path.islink(victim):
            shutil.rmtree(victim, ignore_errors=True)
            try:
                os.rename(aside, victim)
            except OSError:
                pass
sys.stdout.write(str(swaps))
sys.stdout.flush()
`;

function startAttacker(victim: string, host: string): Promise<{ child: ChildProcess; stop: () => Promise<number> }> {
  const child = spawn("python3", ["-c", ATTACKER, victim, host], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.startsWith("ready\n") && !out.includes("started")) {
        out = "started";
        resolve({
          child,
          stop: () =>
            new Promise<number>((done) => {
              let tail = "";
              child.stdout!.removeAllListeners("data");
              child.stdout!.on("data", (c: Buffer) => (tail += c.toString()));
              child.once("exit", () => done(Number(tail)));
              child.kill("SIGTERM");
            }),
        });
      }
    });
  });
}

/** The entries of an exported tar; an export that fails rejects (readTar's pipe would wait forever). */
async function exportedTar(stream: Readable): ReturnType<typeof readTar> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return readTar(Readable.from([Buffer.concat(chunks)]));
}

/** Refusals and misses are the expected outcomes under attack; anything else fails the test. */
async function tolerated<T>(work: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    if (isTorporError(error, "UNSAFE_PATH") || isTorporError(error, "PROVIDER")) return undefined;
    throw error;
  }
}

describe("a sandbox swapping a workspace folder for a symlink to a host folder", () => {
  it("never makes the host read the host folder's files or write into it", { timeout: 240_000 }, async () => {
    const ws = path.join(base, "ws");
    const host = path.join(base, "host");
    const secret = `HOST-SECRET-${randomBytes(8).toString("hex")}`;
    const deep = "a/b/c/data.txt";
    // The same paths on both sides: a read redirected through the symlink finds the secret.
    for (const [dir, content] of [
      [path.join(ws, "victim"), "benign workspace bytes"],
      [host, secret],
    ] as const) {
      mkdirSync(path.join(dir, "a/b/c"), { recursive: true });
      writeFileSync(path.join(dir, deep), content);
      writeFileSync(path.join(dir, "top.txt"), content);
    }
    writeFileSync(path.join(host, `host-only-${secret}.txt`), secret);
    const hostBefore = listTree(host);
    const secretHash = createHash("sha256").update(secret).digest("hex");
    // The change feed watches the workspace all along: a folder it adds (or lists) through a
    // swapped-in link would put the host folder's names into the session's change rows.
    const watched: string[] = [];
    let watchErrors = 0;
    const stopWatch = await watchFolder(ws, (events) => watched.push(...events.map((e) => e.path)), { debounceMs: 20, onError: () => watchErrors++ });
    const attacker = await startAttacker(path.join(ws, "victim"), host);
    let attempts = 0;
    let refused = 0;
    let swaps = 0;
    const hostReads: string[] = [];
    const seen = (what: string, bytes: Buffer | string | undefined): void => {
      attempts++;
      if (bytes === undefined) refused++;
      else if (bytes.includes(secret)) hostReads.push(what);
    };
    try {
      const buffer = Buffer.alloc(4096);
      for (let i = 0; i < 220; i++) {
        const scan = await tolerated(() => scanFolder(ws));
        attempts++;
        if (scan?.some((e) => e.path.includes("host-only"))) hostReads.push("scanFolder");
        for (const rel of [`victim/${deep}`, "victim/top.txt"]) {
          const reads = workspaceInPlaceReads(ws);
          const n = await tolerated(() => reads.readInto(rel, buffer, 0, 4096));
          seen(`readInto ${rel}`, n === undefined ? undefined : buffer.subarray(0, Math.max(n, 0)));
          const chunked = await tolerated(() => reads.openFile(rel));
          let bytes: Buffer | undefined;
          if (chunked !== undefined) {
            const b = Buffer.alloc(chunked.size);
            await chunked.read(b, 0, b.length);
            await chunked.close();
            bytes = b;
          }
          seen(`openFile ${rel}`, bytes);
          seen(`readWorkspaceFile ${rel}`, await tolerated(() => readWorkspaceFile(ws, rel)));
          const hashes = await tolerated(() => hashFolderFiles(ws, [rel]));
          attempts++;
          if (hashes === undefined) refused++;
          else if (Object.values(hashes).includes(secretHash)) hostReads.push(`hashFolderFiles ${rel}`);
        }
        const exported = await tolerated(async () => exportedTar(exportFolderTar(ws, [`victim/${deep}`])));
        seen("exportFolderTar", exported === undefined ? undefined : [...exported.values()].map((e) => e.content).join("\n"));
        await tolerated(() => writeWorkspaceFile(ws, `victim/a/b/written-${i}.txt`, "x"));
        await tolerated(async () => {
          const importer = workspaceImporter(ws);
          await importer.write({ name: `victim/a/b/c/imported-${i}.txt`, type: "file", mode: 0o644, mtime: new Date(), size: 1, data: Buffer.from("y") });
          importer.finish();
        });
        await tolerated(() => importFolderTar(ws, makeTar([{ name: `victim/a/tar-${i}.txt`, content: "z" }])));
        attempts += 3;
      }
    } finally {
      swaps = await attacker.stop();
      await stopWatch();
      const leaked = watched.filter((p) => p.includes("host-only"));
      if (leaked.length > 0) hostReads.push(`watchFolder: ${leaked.length} events naming host files (${leaked[0]})`);
      console.log(`hostile fs: ${attempts} attempts (${refused} refused or missed, ${swaps} swaps by the attacker), ${hostReads.length} host reads; the watcher saw ${watched.length} events (${watchErrors} errors)`);
    }
    expect(swaps).toBeGreaterThan(200); // the race was live (3,600-28,000 swaps per run here)
    expect(hostReads).toEqual([]);
    expect(listTree(host)).toEqual(hostBefore); // nothing written into the host folder
    expect(refused).toBeGreaterThan(0); // the swaps were seen, and refused
  });
});

/** A watchdog that opens the FIFO's other end after a while: only a blocked reader ever needs it. */
function fifoWatchdog(fifo: string, marker: string): ChildProcess {
  const script = `setTimeout(() => { require("fs").writeFileSync(${JSON.stringify(marker)}, "unblocked"); const fd = require("fs").openSync(${JSON.stringify(fifo)}, "w"); require("fs").closeSync(fd); }, 30000);`;
  return spawn(process.execPath, ["-e", script], { stdio: "ignore" });
}

describe("FIFOs, sockets and devices in the workspace", () => {
  it("are refused or left out at once by reads, scans and in-place reads: nothing blocks", { timeout: 60_000 }, async () => {
    const ws = path.join(base, "special");
    mkdirSync(path.join(ws, "dir"), { recursive: true });
    writeFileSync(path.join(ws, "dir/ok.txt"), "ok");
    execFileSync("mkfifo", [path.join(ws, "dir/fifo")]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(ws, "dir/sock"), resolve));
    let device = false;
    try {
      execFileSync("mknod", [path.join(ws, "dir/zero"), "c", "1", "5"], { stdio: "ignore" });
      device = true;
    } catch {
      // not root: no device node to test
    }
    const marker = path.join(base, "fifo-unblocked");
    const watchdog = fifoWatchdog(path.join(ws, "dir/fifo"), marker);
    const blocked = Symbol("blocked");
    const settle = <T,>(work: () => Promise<T> | T) =>
      Promise.race([
        Promise.resolve().then(work).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
        new Promise<typeof blocked>((resolve) => setTimeout(() => resolve(blocked), 20_000).unref()),
      ]);
    try {
      const specials = ["dir/fifo", "dir/sock", ...(device ? ["dir/zero"] : [])];
      for (const rel of specials) {
        const reads = workspaceInPlaceReads(ws);
        for (const [what, work] of [
          ["readWorkspaceFile", () => readWorkspaceFile(ws, rel)],
          ["readInto", () => reads.readInto(rel, Buffer.alloc(64), 0, 64)],
          ["openFile", () => reads.openFile(rel)],
          ["hashFolderFiles", () => hashFolderFiles(ws, [rel])],
        ] as [string, () => unknown][]) {
          const outcome = await settle(work);
          expect(outcome, `${what} ${rel}`).not.toBe(blocked);
          const error = (outcome as { error?: unknown }).error;
          expect(isTorporError(error, "PROVIDER"), `${what} ${rel}: ${String(error)}`).toBe(true);
          expect((error as Error).message).toMatch(/not a regular file/);
          expect((error as Error).message).not.toContain(base); // workspace paths only
        }
      }
      const scan = await settle(() => scanFolder(ws));
      expect(scan).not.toBe(blocked);
      expect((scan as { value: { path: string }[] }).value.map((e) => e.path)).toEqual(["dir", "dir/ok.txt"]);
      const exported = await settle(async () => exportedTar(exportFolderTar(ws, ["dir/fifo", "dir/sock", "dir/ok.txt"])));
      expect(exported).not.toBe(blocked);
      expect([...(exported as { value: Map<string, unknown> }).value.keys()]).toEqual(["dir/ok.txt"]);
    } finally {
      watchdog.kill();
      server.close();
    }
    expect(existsSync(marker)).toBe(false); // no read ever needed the FIFO's writer to come
  });
});

describe("setuid, setgid and sticky bits", () => {
  const mode = (p: string): number => statSync(p).mode & 0o7777;

  it("are stripped by files.write, a tar import and a restore's direct writes, and never reported by a scan", async () => {
    const ws = path.join(base, "suid");
    mkdirSync(ws, { recursive: true });
    await writeWorkspaceFile(ws, "w/suid-sh", "#!/bin/sh\n", 0o6755);
    expect(mode(path.join(ws, "w/suid-sh"))).toBe(0o755);

    await importFolderTar(
      ws,
      makeTar([
        { name: "t", type: "directory", mode: 0o1777 },
        { name: "t/suid", content: "x", mode: 0o4755 },
        { name: "t/sgid", content: "x", mode: 0o2711 },
      ]),
    );
    expect([mode(path.join(ws, "t")), mode(path.join(ws, "t/suid")), mode(path.join(ws, "t/sgid"))]).toEqual([0o777, 0o755, 0o711]);

    const importer = workspaceImporter(ws);
    await importer.write({ name: "r", type: "dir", mode: 0o3755, mtime: new Date(), size: 0 });
    await importer.write({ name: "r/small", type: "file", mode: 0o4700, mtime: new Date(), size: 1, data: Buffer.from("s") });
    const big = Buffer.alloc(2 * 1024 * 1024, 1);
    await importer.write({ name: "r/big", type: "file", mode: 0o6755, mtime: new Date(), size: big.length, content: Readable.from([big]) });
    importer.finish();
    expect([mode(path.join(ws, "r")), mode(path.join(ws, "r/small")), mode(path.join(ws, "r/big"))]).toEqual([0o755, 0o700, 0o755]);

    // What a sandbox process can do itself (chmod 4755, a sticky folder): the scan reports it stripped.
    chmodSync(path.join(ws, "w/suid-sh"), 0o4755);
    mkdirSync(path.join(ws, "sticky"));
    chmodSync(path.join(ws, "sticky"), 0o1777);
    const scanned = Object.fromEntries((await scanFolder(ws)).map((e) => [e.path, e.mode]));
    expect(scanned["w/suid-sh"]).toBe(0o755);
    expect(scanned.sticky).toBe(0o777);
    expect(Object.values(scanned).every((m) => (m & ~0o777) === 0)).toBe(true);
  });

  it("error messages name workspace paths, never the host folder", async () => {
    const ws = path.join(base, "names");
    mkdirSync(ws, { recursive: true });
    const long = "x".repeat(300);
    const works: (() => Promise<unknown>)[] = [() => writeWorkspaceFile(ws, `a/${long}`, "x"), () => readWorkspaceFile(ws, long), () => hashFolderFiles(ws, [long])];
    for (const work of works) {
      const error = await Promise.resolve().then(work).then(() => undefined, (e: unknown) => e);
      expect(isTorporError(error, "UNSAFE_PATH") || isTorporError(error, "VALIDATION"), String(error)).toBe(true);
      expect((error as Error).message).not.toContain(base);
      expect(JSON.stringify((error as Error & { details?: unknown }).details)).not.toContain(base);
    }
    await expectCode(readWorkspaceFile(ws, "missing/file"), "PROVIDER");
  });
});
