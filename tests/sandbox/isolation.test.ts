/**
 * The sandbox is hostile: a tenant's start command and exec commands, run by the embedded runtime
 * (real bubblewrap, the default TORPOR_BWRAP), try to read the host's secrets and another
 * sandbox's files, write outside the workspace, leave a setuid-root file on the host and reach a
 * TCP port on the host's loopback. Every attempt must fail; the test prints the tally. And another
 * local user (`nobody`) can read nothing of the data dir.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { createRuntime, type Runtime } from "../../src/runtime";
import { SANDBOX_UID } from "../../src/sandbox/local/bwrap";
import { resolveAuthSecret } from "../../src/server/secret";
import { killSandboxes } from "../helpers/runtime";

const dataDir = mkdtempSync(path.join(tmpdir(), "torpor-isolation-"));
let runtime: Runtime;
let server: Server;
let port = 0;
let connections = 0;
const asRoot = process.getuid?.() === 0;

beforeAll(async () => {
  runtime = await createRuntime(loadConfig({ TORPOR_DATA_DIR: dataDir }), { continueRuns: false, log: () => undefined });
  resolveAuthSecret(runtime.config); // writes <dataDir>/auth-secret, as the server's start does
  server = createServer((socket) => {
    connections++;
    socket.end("hello from the host\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  // The attacker's `sleep 1000` would outlive the test and its deleted folder otherwise.
  if (runtime) await killSandboxes(runtime.sandboxes);
  await runtime?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a hostile sandbox cannot reach the host", () => {
  it("reads no host secret nor another sandbox, writes nothing outside, plants no setuid-root file, reaches no host port", async () => {
    const sandboxes = runtime.sandboxes;
    const victim = (await sandboxes.create({ template: "base" })).id;
    await sandboxes.writeFile(victim, "secret.txt", "the victim's secret");
    const victimWorkspace = path.join(runtime.config.dataDir, "sandboxes", victim, "workspace");
    const secretFile = path.join(runtime.config.dataDir, "auth-secret");
    const attacker = (await sandboxes.create({ template: "base", startCommand: "sleep 1000" })).id;

    const outside = [`/usr/torpor-evil-${attacker}`, `/torpor-evil-${attacker}`, path.join(runtime.config.dataDir, `evil-${attacker}`), path.join(victimWorkspace, "evil")];
    // Each attempt prints its data when it succeeds; `ok` in stdout means it got through.
    const attempts: { name: string; command: string; succeeded: (out: string) => boolean }[] = [
      { name: "read /etc/shadow", command: "cat /etc/shadow && echo ok", succeeded: (o) => o.includes("ok") },
      { name: "read the auth secret", command: `cat ${secretFile} && echo ok`, succeeded: (o) => o.includes("ok") },
      { name: "read another sandbox's workspace", command: `cat ${victimWorkspace}/secret.txt`, succeeded: (o) => o.includes("victim's secret") },
      { name: "list the data dir", command: `ls ${runtime.config.dataDir} && echo ok`, succeeded: (o) => o.includes("ok") },
      { name: "read the host's processes", command: "cat /proc/1/environ && echo ok", succeeded: (o) => o.includes("ok") },
      ...outside.map((p) => ({ name: `write ${p}`, command: `echo evil > ${p}`, succeeded: () => existsSync(p) })),
      {
        name: "leave a setuid-root binary",
        command: "cp /bin/sh ./suid-sh && chmod 4755 ./suid-sh; chown 0:0 ./suid-sh; chmod 4755 ./suid-sh",
        succeeded: () => {
          const st = lstatSync(path.join(runtime.config.dataDir, "sandboxes", attacker, "workspace", "suid-sh"));
          return st.uid === 0 && (st.mode & 0o4000) !== 0;
        },
      },
      { name: "connect to a host TCP port on 127.0.0.1", command: `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3'`, succeeded: (o) => o.includes("hello") },
      { name: "connect to the host port via localhost", command: `bash -c 'exec 3<>/dev/tcp/localhost/${port} && cat <&3'`, succeeded: (o) => o.includes("hello") },
    ];
    const got: string[] = [];
    for (const attempt of attempts) {
      const run = await sandboxes.exec(attacker, attempt.command, { timeoutMs: 10_000 });
      if (attempt.succeeded(run.stdout)) got.push(attempt.name);
    }
    // A sandbox that asks for the host's network is refused (it would reach the loopback ports).
    const online = await sandboxes.create({ template: "base", network: true }).then((s) => s.id, () => null);
    if (online !== null) got.push("network: true");
    const total = attempts.length + 1;
    console.log(`isolation: ${total} attempts, ${got.length} succeeded${got.length ? `: ${got.join(", ")}` : ""}`);
    expect(got).toEqual([]);
    expect(connections).toBe(0);
    expect((await sandboxes.connect(attacker)).isolated).toBe(true);
    // The sandbox did make the file: it is nobody's (or has no setuid bit), and not root's.
    const suid = statSync(path.join(runtime.config.dataDir, "sandboxes", attacker, "workspace", "suid-sh"));
    if (asRoot) expect(suid.uid).toBe(SANDBOX_UID);
  }, 120_000);
});

describe("the data dir is private", () => {
  it("is 0700 with 0600 files, and user nobody can read neither the state file nor the auth secret", () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(dataDir)).toBe(0o700);
    const files = ["torpor.sqlite", "auth-secret"].map((f) => path.join(dataDir, f));
    for (const f of files) expect(mode(f)).toBe(0o600);
    for (const f of readdirSync(dataDir).filter((n) => n.startsWith("torpor.sqlite"))) expect(mode(path.join(dataDir, f))).toBe(0o600);
    expect(mode(path.join(dataDir, "sandboxes"))).toBe(0o700);
    if (!asRoot) return; // only root can become nobody
    for (const f of [...files, dataDir]) {
      const run = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "cat", f], { encoding: "utf8" });
      expect(run.status, `nobody read ${f}`).not.toBe(0);
      expect(run.stderr).toMatch(/Permission denied/);
    }
  });
});
