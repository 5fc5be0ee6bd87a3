/**
 * What only the local provider promises, beyond the contract: bubblewrap isolation (another
 * sandbox's folder, the host, the network), processes really stopped while paused, sandboxes that
 * outlive the Torpor process, loud warnings without bubblewrap, and no reads through symlinks.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTorporError } from "../../src/core/errors";
import { createLocalProvider, type SandboxProvider } from "../../src/sandbox";
import { SANDBOX_UID } from "../../src/sandbox/local/bwrap";
import { procStat, sandboxMembers, unfrozen } from "../../src/sandbox/local/processes";
import type { LocalState } from "../../src/sandbox/local/state";
import { eventually, expectCode, makeTar, readTar } from "./helpers";

const root = mkdtempSync(path.join(tmpdir(), "torpor-local-"));
const created: { provider: SandboxProvider; id: string }[] = [];
let provider: SandboxProvider;

async function create(p: SandboxProvider, opts: { network?: boolean; startCommand?: string } = {}): Promise<string> {
  const info = await p.create({ template: "base", ...opts });
  created.push({ provider: p, id: info.id });
  return info.id;
}
const hostWorkspace = (id: string, base = root): string => path.join(base, id, "workspace");
const state = (id: string, base = root): LocalState => JSON.parse(readFileSync(path.join(base, id, "state.json"), "utf8")) as LocalState;

beforeAll(() => {
  provider = createLocalProvider({ root, bubblewrap: "required" });
});
afterAll(async () => {
  for (const { provider: p, id } of created) await p.kill(id).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

describe("local provider isolation (bubblewrap)", () => {
  it("a sandbox can neither see nor write another sandbox's folder, nor the host's", async () => {
    const a = await create(provider);
    const b = await create(provider);
    await provider.writeFile(b, "secret.txt", "b's secret");
    const bHost = hostWorkspace(b);
    const look = await provider.exec(a, `cat ${bHost}/secret.txt; ls ${root}; echo pwned > ${bHost}/pwned.txt; ls /workspace`);
    expect(look.stdout).not.toContain("b's secret");
    expect(look.stderr).toMatch(/No such file|not found|cannot/i);
    expect(existsSync(path.join(bHost, "pwned.txt"))).toBe(false);
    expect((await provider.exec(a, "test -e /etc/shadow || test -e /etc/ssh")).exitCode).not.toBe(0);
    expect((await provider.exec(a, "touch /usr/torpor-evil")).exitCode).not.toBe(0);
    expect(existsSync("/usr/torpor-evil")).toBe(false);
    const info = await provider.connect(a);
    expect(info.isolated).toBe(true);
    expect(info.warnings).toBeUndefined();
  });

  it("has no network unless asked for, and its own pid namespace", async () => {
    const offline = await create(provider);
    const interfaces = (await provider.exec(offline, "cat /proc/net/dev")).stdout;
    expect(interfaces).toContain("lo:");
    expect(interfaces.split("\n").filter((l) => l.includes(":") && !l.includes("lo:") && !l.includes("|"))).toEqual([]);
    // The host's network would reach the app's and the object store's loopback ports: refused.
    const online = provider.create({ template: "base", network: true });
    await expectCode(online, "PROVIDER");
    await expect(online).rejects.toThrow(/no network.*loopback/);
    const ps = await provider.exec(offline, "ls /proc | grep -E '^[0-9]+$' | wc -l");
    expect(Number(ps.stdout.trim())).toBeLessThan(10);
    expect((await provider.exec(offline, "env")).stdout).not.toMatch(/AWS_|E2B_|TORPOR_/);
  });

  it("pause stops every process of the sandbox (state T) and connect continues them", async () => {
    const id = await create(provider, { startCommand: "setsid sleep 1000 & sleep 1000 & wait" });
    const leader = state(id).processes[0]!;
    // The whole tree under the recorded leader, from the host's /proc (parent links).
    const members = (): number[] => {
      const parents = new Map<number, number>();
      for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
        try {
          const text = readFileSync(`/proc/${name}/stat`, "utf8");
          parents.set(Number(name), Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
          // exited meanwhile
        }
      }
      const tree = [leader.pid];
      for (let grew = true; grew; ) {
        grew = false;
        for (const [pid, ppid] of parents) if (tree.includes(ppid) && !tree.includes(pid)) (tree.push(pid), (grew = true));
      }
      return tree;
    };
    await eventually(() => members().length >= 5, "bwrap, its init, sh and two sleeps (one in its own session) are up");
    await provider.pause(id);
    for (const pid of members()) expect(procStat(pid)?.state).toBe("T");
    await provider.connect(id);
    for (const pid of members()) expect(procStat(pid)?.state).not.toBe("T");
    await expectCode(provider.pause(id).then(() => provider.exec(id, "true")), "PROVIDER");
    await provider.connect(id);
  });

  it("pause freezes processes the sandbox forked itself (a grandchild in its own session) until connect", async () => {
    // The start command's shell forks a subshell that forks a setsid'd counter: none of them is recorded.
    // A second process keeps sending SIGCONT to everything it can reach: one round of SIGSTOPs
    // loses to it (a stopped counter is woken before the waker itself stops); the fixed point does not.
    const waker = "sh -c 'while true; do kill -CONT -1 2>/dev/null; done' &";
    const id = await create(provider, { startCommand: `(setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /workspace/counter; sleep 0.02; done' &) ; ${waker} ${waker} sleep 1000` });
    const counter = (): number => Number(readFileSync(path.join(hostWorkspace(id), "counter"), "utf8").trim() || "0");
    await eventually(() => counter() > 3 || null, "the grandchild counts");
    await eventually(() => sandboxMembers(state(id).processes).length >= 7 || null, "bwrap, init, sh, two wakers, the counter and sleep are up");
    await provider.pause(id);
    const members = sandboxMembers(state(id).processes);
    // Every one, at once; a zombie (a `sleep 0.02` that ended as its stopped parent was about to
    // reap it) runs nothing and cannot be stopped: it counts as frozen, and so does a shell in
    // vfork() whose child we stopped before it could exec (state D, see unfrozen).
    const states = unfrozen(members).map((pid) => `${pid}:${procStat(pid)?.state ?? "X"}`);
    expect(states).toEqual([]);
    expect(members.every((pid) => /^[TtZXD]$/.test(procStat(pid)?.state ?? "X"))).toBe(true);
    const frozen = counter();
    await new Promise((r) => setTimeout(r, 1000));
    expect(counter()).toBe(frozen);
    await provider.connect(id);
    await eventually(() => counter() > frozen || null, "the grandchild counts again after connect");
  });

  it("refuses to pause a sandbox it could not freeze in time, and leaves it running", async () => {
    // 1 ms: one round of SIGSTOPs, never the two clean scans a freeze needs.
    const hasty = createLocalProvider({ root, bubblewrap: "required", freezeTimeoutMs: 1 });
    const id = await create(hasty, { startCommand: "i=0; while true; do i=$((i+1)); echo $i > /workspace/counter; sleep 0.02; done" });
    const counter = (): number => Number(readFileSync(path.join(hostWorkspace(id), "counter"), "utf8").trim() || "0");
    await eventually(() => counter() > 3 || null, "the counter counts");
    const error = await hasty.pause(id).then(() => null, (e: unknown) => e);
    expect(isTorporError(error, "PROVIDER") && (error as Error).message).toMatch(/could not be paused: \d+ of its processes did not stop within 1 ms/);
    expect(await hasty.status(id)).toBe("running");
    const seen = counter();
    await eventually(() => counter() > seen || null, "the counter counts on: the half-frozen sandbox was thawed");
  });

  it("runs as an unprivileged uid with no capabilities and no new privileges, and the workspace stays its own", async () => {
    const id = await create(provider);
    const status = await provider.exec(id, "grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs)' /proc/self/status; grep ' /workspace ' /proc/self/mountinfo");
    const uid = process.getuid?.() === 0 ? SANDBOX_UID : process.getuid?.();
    expect(status.stdout).toMatch(new RegExp(`Uid:\\s+${uid}\\s`));
    expect(status.stdout).toMatch(/CapEff:\s+0+\n/);
    expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(status.stdout).toMatch(/ \/workspace .*nosuid/);
    // Files Torpor writes (files.write, a restore) stay writable by the sandbox's processes...
    await provider.writeFile(id, "deep/dir/host.txt", "from the host");
    await provider.importTar(id, makeTar([{ name: "restored/r.txt", content: "restored" }]));
    const edit = await provider.exec(id, "echo sandbox >> deep/dir/host.txt && echo sandbox > restored/r.txt && touch deep/dir/new restored/new && echo made > mine.txt");
    expect(edit.exitCode, edit.stderr).toBe(0);
    // ...and the host still reads and changes what the sandbox made.
    expect((await provider.readFile(id, "mine.txt")).toString()).toBe("made\n");
    await provider.writeFile(id, "mine.txt", "changed by the host");
    expect(readFileSync(path.join(hostWorkspace(id), "mine.txt"), "utf8")).toBe("changed by the host");
    expect(readFileSync(path.join(hostWorkspace(id), "deep/dir/host.txt"), "utf8")).toBe("from the hostsandbox\n");
  });

  it("kill ends the processes and deletes the workspace folder", async () => {
    const id = await create(provider, { startCommand: "sleep 1000" });
    const { pid, startTime } = state(id).processes[0]!;
    expect(procStat(pid)?.startTime).toBe(startTime);
    await provider.writeFile(id, "f.txt", "x");
    await provider.kill(id);
    expect(existsSync(hostWorkspace(id))).toBe(false);
    const after = procStat(pid);
    expect(after === null || after.state === "Z" || after.startTime !== startTime).toBe(true);
    expect(await provider.status(id)).toBe("gone");
  });
});

/**
 * What a command leaves running (`(server &)`) stays part of the sandbox, after its command (and
 * so its process group's leader) has exited: pause freezes it, kill ends it, after a restart of
 * Torpor too; a foreground exec returns when its command ends, not when the leftover does.
 */
async function leftoversStayInTheSandbox(p: SandboxProvider, base: string, reopen: () => SandboxProvider): Promise<void> {
  const id = await create(p, { startCommand: "sleep 1000" });
  const counter = (name: string) => `(sh -c 'i=0; while true; do i=$((i+1)); echo $i > ${name}; sleep 0.02; done' &)`;
  await p.exec(id, `${counter("bg-left")}; exit 0`, { background: true });
  // Before the fix this exec never returned: the leftover holds its output pipe.
  const limit = new Promise<"hung">((r) => setTimeout(() => r("hung"), 8000).unref());
  const fg = await Promise.race([p.exec(id, `${counter("fg-left")}; echo started`, { timeoutMs: 20_000 }), limit]);
  expect(fg).toMatchObject({ exitCode: 0, stdout: "started\n" });
  const read = (name: string): number => Number(readFileSync(path.join(hostWorkspace(id, base), name), "utf8").trim() || "0");
  await eventually(() => (read("bg-left") > 3 && read("fg-left") > 3) || null, "both leftovers count");

  await p.pause(id);
  const frozen = [read("bg-left"), read("fg-left")];
  await new Promise((r) => setTimeout(r, 1000));
  expect([read("bg-left"), read("fg-left")]).toEqual(frozen);
  await p.connect(id);
  await eventually(() => (read("bg-left") > frozen[0]! && read("fg-left") > frozen[1]!) || null, "both count again after connect");

  // Another Torpor process (a restart) must find the leftovers from the sandbox's record alone.
  const again = reopen();
  const members = sandboxMembers(state(id, base).processes);
  expect(members.length).toBeGreaterThanOrEqual(2);
  await again.kill(id);
  const alive = members.filter((pid) => {
    const st = procStat(pid);
    return st !== null && st.state !== "Z" && st.state !== "X";
  });
  expect(alive).toEqual([]);
}

describe("local provider: what a command leaves running", () => {
  it("is frozen by pause and ended by kill under bubblewrap, and a foreground exec does not wait for it", async () => {
    await leftoversStayInTheSandbox(provider, root, () => createLocalProvider({ root, bubblewrap: "required" }));
  });
  it("the same without bubblewrap", async () => {
    const base = path.join(root, "off-leftovers");
    const off = createLocalProvider({ root: base, bubblewrap: "off", log: () => {} });
    await leftoversStayInTheSandbox(off, base, () => createLocalProvider({ root: base, bubblewrap: "off", log: () => {} }));
  });
});

describe("local provider lifetime", () => {
  it("sandboxes survive the Torpor process that made them, and a new one finds them again", async () => {
    const fixture = path.join(import.meta.dirname, "fixtures", "start-sandbox.ts");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", fixture, root], { env: { PATH: "/usr/bin:/bin" } as unknown as NodeJS.ProcessEnv });
    const id = stdout.trim();
    const again = createLocalProvider({ root, bubblewrap: "required" });
    created.push({ provider: again, id });
    expect(await again.status(id)).toBe("running");
    const before = await eventually(async () => Number((await again.readFile(id, "counter")).toString()) || null, "counter runs");
    await eventually(async () => Number((await again.readFile(id, "counter")).toString()) > before, "counter moves after the creator exited");
    await again.pause(id);
    expect(await again.status(id)).toBe("paused");
    const info = await again.connect(id);
    expect(info.warnings).toBeUndefined(); // the start command is still running
    await again.kill(id);
    expect(await again.status(id)).toBe("gone");
  });

  it("unknown and malformed ids are SANDBOX_NOT_FOUND; status and kill of a wiped sandbox say gone", async () => {
    const unknown = "sbx_000000000aaaaaaaaaaaaaaaaaaaa";
    await expectCode(provider.scan(unknown), "SANDBOX_NOT_FOUND");
    await expectCode(provider.scan("../etc"), "SANDBOX_NOT_FOUND");
    await expectCode(provider.status("../etc"), "SANDBOX_NOT_FOUND");
    await expectCode(provider.kill("nope"), "SANDBOX_NOT_FOUND");
    const id = await create(provider);
    rmSync(path.join(root, id), { recursive: true, force: true }); // the data dir lost it, record and all
    expect(await provider.status(id)).toBe("gone");
    await provider.kill(id);
    await expectCode(provider.connect(id), "SANDBOX_NOT_FOUND");
  });
});

describe("local provider without bubblewrap", () => {
  it("runs, but the log and the sandbox info say loudly that it is not isolated", async () => {
    const lines: string[] = [];
    const off = createLocalProvider({ root: path.join(root, "off"), bubblewrap: "off", log: (m) => lines.push(m) });
    const info = await off.create({ template: "base" });
    created.push({ provider: off, id: info.id });
    expect(info.isolated).toBe(false);
    expect(info.warnings?.join(" ")).toContain("NOT ISOLATED");
    expect(lines.join("\n")).toContain("NOT ISOLATED");
    expect((await off.exec(info.id, "echo ok")).stdout).toBe("ok\n");
  });

  it("never writes into a host file that an unisolated sandbox hard-linked into its workspace", async () => {
    const off = createLocalProvider({ root: path.join(root, "off"), bubblewrap: "off", log: () => undefined });
    const { id } = await off.create({ template: "base" });
    created.push({ provider: off, id });
    const hostFile = path.join(root, "host-file.txt");
    writeFileSync(hostFile, "host content");
    expect((await off.exec(id, `ln ${hostFile} linked.txt`)).exitCode).toBe(0);
    await off.writeFile(id, "linked.txt", "written by torpor");
    await off.importTar(id, makeTar([{ name: "linked.txt", content: "restored by torpor" }]));
    expect(readFileSync(hostFile, "utf8")).toBe("host content");
    expect((await off.readFile(id, "linked.txt")).toString()).toBe("restored by torpor");
  });

  it("'required' (and its deprecated alias 'auto') refuses every new sandbox when bubblewrap cannot be used, saying how to fix it", async () => {
    for (const mode of ["required", "auto"] as const) {
      const lines: string[] = [];
      const none = createLocalProvider({ root: path.join(root, "none"), bubblewrap: mode, bwrapPath: "/nonexistent/bwrap", log: (m) => lines.push(m) });
      const made = none.create({ template: "base", startCommand: "sleep 1000" });
      await expectCode(made, "PROVIDER");
      await expect(made).rejects.toThrow(/apt-get install bubblewrap.*TORPOR_BWRAP=off/);
      expect(lines.join("\n")).toContain("apt-get install bubblewrap");
    }
    const made = existsSync(path.join(root, "none")) ? readdirSync(path.join(root, "none")).filter((n) => n.startsWith("sbx_")) : [];
    expect(made).toEqual([]); // nothing was made, nothing ran
  });
});

describe("local provider host-side file access never follows the sandbox's symlinks", () => {
  it("refuses reads, writes and exports through a link to the host", async () => {
    const id = await create(provider);
    await provider.exec(id, "ln -s /etc etc-link && ln -s /etc/passwd passwd-link");
    await expectCode(provider.readFile(id, "etc-link/passwd"), "UNSAFE_PATH");
    await expectCode(provider.readFile(id, "passwd-link"), "PROVIDER");
    await expectCode(provider.writeFile(id, "etc-link/evil", "x"), "UNSAFE_PATH");
    expect(existsSync("/etc/evil")).toBe(false);
    await expectCode(provider.hashFiles(id, ["etc-link/passwd"]), "UNSAFE_PATH");
    const marker = `torpor-escape-${id}`;
    await provider.exec(id, "ln -s /tmp tmp-link");
    await expectCode(provider.importTar(id, makeTar([{ name: `tmp-link/${marker}`, content: "x" }])), "UNSAFE_PATH");
    await expectCode(provider.importTar(id, makeTar([{ name: "l2", type: "symlink", linkname: tmpdir() }, { name: `l2/${marker}`, content: "x" }])), "UNSAFE_PATH");
    expect(existsSync(path.join(tmpdir(), marker))).toBe(false);
    expect(existsSync(path.join("/tmp", marker))).toBe(false);
    const out = await readTar(await provider.exportTar(id, ["passwd-link"]));
    expect(out.get("passwd-link")).toMatchObject({ type: "symlink", linkname: "/etc/passwd", content: "" });
    await provider.writeFile(id, "passwd-link", "replaced");
    expect(readFileSync("/etc/passwd", "utf8")).not.toBe("replaced");
    expect((await provider.scan(id)).find((e) => e.path === "passwd-link")?.type).toBe("file");
  });

  it("a FIFO or socket the sandbox made is refused at once by files.read, and a setuid bit it set is never reported or written", async () => {
    const id = await create(provider);
    const made = await provider.exec(id, "mkfifo fifo && python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")' && : > suid && chmod 4755 suid && mkdir sticky && chmod 1777 sticky");
    expect(made.exitCode, made.stderr).toBe(0);
    // The app's main thread would block in open() on a FIFO: each read must settle by itself.
    for (const p of ["fifo", "sock"]) {
      const outcome = await Promise.race([
        provider.readFile(id, p).then(() => "read", (error: unknown) => error),
        new Promise((resolve) => setTimeout(() => resolve("blocked"), 20_000).unref()),
      ]);
      expect(isTorporError(outcome, "PROVIDER"), `${p}: ${String(outcome)}`).toBe(true);
    }
    expect(statSync(path.join(hostWorkspace(id), "suid")).mode & 0o7777).toBe(0o4755); // the sandbox did set it
    const modes = Object.fromEntries((await provider.scan(id)).map((e) => [e.path, e.mode]));
    expect(modes).toEqual({ sticky: 0o777, suid: 0o755 }); // no FIFO or socket, bits stripped
    await provider.writeFile(id, "written", "x", 0o6755);
    expect(statSync(path.join(hostWorkspace(id), "written")).mode & 0o7777).toBe(0o755);
  });
});
