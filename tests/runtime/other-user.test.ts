/**
 * Another local user (`nobody`, uid 65534) can change nothing Torpor keeps: not the data dir, the
 * state file, the auth secret, the object store's folders and checkpoint objects, nor a sandbox's
 * workspace, whether through the data dir's paths (0700, files 0600) or through a running sandbox
 * process's /proc/<pid>/cwd and /root (which the data dir's mode does not cover: that path is
 * open to whoever owns the process, so sandbox processes must not run as nobody). Every attempt
 * is tried twice: with the data dir as Torpor leaves it, and with it opened to 0755 (an operator's
 * chmod), where the inner folders' own modes must hold. The read side: isolation.test.ts and
 * objectstore/fs.test.ts.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveAuthSecret } from "../../src/server/secret";
import { createSessionWithFiles, requestId, runWorkflow, sampleFiles, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

const asRoot = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;
const MARK = `sleep 4${process.pid % 1000}7`;
let rt: WorkflowRuntime;
let sandboxDir = "";
let pid = "";

/** Runs a shell snippet as nobody:nogroup with no supplementary group; true when it exited 0. */
function asNobody(script: string): boolean {
  return spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c", script], { stdio: "ignore" }).status === 0;
}

/** Every entry under `dir` (lstat), not descending into the folders `skip` names. */
function tree(dir: string, skip: (p: string) => boolean): { path: string; mode: number; dir: boolean; file: boolean }[] {
  const out: { path: string; mode: number; dir: boolean; file: boolean }[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      out.push({ path: p, mode: st.mode & 0o7777, dir: st.isDirectory(), file: st.isFile() });
      if (st.isDirectory() && !skip(p)) walk(p);
    }
  };
  walk(dir);
  return out;
}

beforeAll(async () => {
  if (!asRoot) return;
  rt = await startWorkflowRuntime({ continueRuns: false, env: { TORPOR_BWRAP: "required" } });
  resolveAuthSecret(rt.config); // <data dir>/auth-secret, as the server's start writes it
  const session = await createSessionWithFiles(rt.runtime, sampleFiles("other-user"));
  const run = await runWorkflow(rt, { name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: "x", requestId: requestId("nobody") } });
  expect(run.status).toBe("completed");
  // A running sandbox whose process owns the workspace it writes in.
  const live = await rt.runtime.sandboxes.create({ template: "base", startCommand: `echo mine > own.txt; ${MARK}` });
  await rt.runtime.sandboxes.writeFile(live.id, "tenant.txt", "tenant data");
  sandboxDir = path.join(rt.dir, "sandboxes", live.id);
  for (let i = 0; i < 100 && pid === ""; i++) {
    pid = spawnSync("pgrep", ["-f", `^${MARK}$`], { encoding: "utf8" }).stdout.trim().split("\n")[0] ?? "";
    if (pid === "") await new Promise((r) => setTimeout(r, 50));
  }
  expect(pid).not.toBe("");
}, 60_000);
afterAll(async () => {
  await rt?.close();
});

describe.runIf(asRoot)("another local user (nobody)", () => {
  it("finds the data dir 0700 and every file of Torpor's own 0600, every folder 0700", () => {
    // A sandbox's own folders hold the modes its tenant gave (a restore reproduces them): inside the 0700 sandbox folder.
    const tenants = (p: string) => path.relative(path.join(rt.dir, "sandboxes"), p).split(path.sep).length === 2 && ["workspace", "tmp", "home", "logs"].includes(path.basename(p));
    expect(lstatSync(rt.dir).mode & 0o7777).toBe(0o700);
    const entries = tree(rt.dir, tenants).filter((e) => !tenants(e.path));
    const wrong = entries.filter((e) => (e.dir ? e.mode !== 0o700 : e.mode !== 0o600)).map((e) => `${e.mode.toString(8)} ${path.relative(rt.dir, e.path)}`);
    expect(wrong).toEqual([]);
    for (const name of ["torpor.sqlite", "auth-secret", "s3", "sandboxes"]) expect(entries.some((e) => e.path === path.join(rt.dir, name))).toBe(true);
    expect(entries.some((e) => e.file && e.path.includes(`${path.sep}manifests${path.sep}`))).toBe(true);
  });

  it("can create, modify, delete, rename or link nothing: data dir, state file, object store, checkpoint objects, workspaces", () => {
    const control = mkdtempSync(path.join(tmpdir(), "torpor-control-"));
    chmodSync(control, 0o777);
    // The control: the same attempt succeeds where nobody may write (the check is not vacuous).
    expect(asNobody(`echo x > ${control}/planted`)).toBe(true);
    rmSync(control, { recursive: true, force: true });

    const store = path.join(rt.dir, "s3", "torpor");
    const manifests = path.join(store, "manifests");
    const manifest = path.join(manifests, readdirSync(manifests)[0]!);
    const pack = path.join(store, "packs", readdirSync(path.join(store, "packs"))[0]!);
    const workspace = path.join(sandboxDir, "workspace");
    const folders = [rt.dir, path.join(rt.dir, "s3"), store, manifests, path.join(rt.dir, "sandboxes"), sandboxDir, workspace, path.join(sandboxDir, "tmp"),
      `/proc/${pid}/cwd`, `/proc/${pid}/root/workspace`, `/proc/${pid}/root/tmp`, `/proc/${pid}/root/home/sandbox`];
    const files = [path.join(rt.dir, "torpor.sqlite"), path.join(rt.dir, "torpor.sqlite-wal"), path.join(rt.dir, "auth-secret"), manifest, pack,
      path.join(sandboxDir, "state.json"), path.join(workspace, "tenant.txt"), `/proc/${pid}/cwd/tenant.txt`, `/proc/${pid}/cwd/own.txt`];
    const before = new Map(files.filter(existsSync).map((f) => [f, readFileSync(f)]));
    expect(before.size).toBeGreaterThanOrEqual(files.length - 1); // the WAL may have been checkpointed away

    const got: string[] = [];
    for (const dataDirMode of [0o700, 0o755]) {
      chmodSync(rt.dir, dataDirMode);
      try {
        const attempts: [string, string][] = [
          ...folders.flatMap((d): [string, string][] => [
            [`create a file in ${d}`, `echo evil > '${d}/planted-by-nobody'`],
            [`make a folder in ${d}`, `mkdir '${d}/planted-dir'`],
          ]),
          ...files.flatMap((f): [string, string][] => [
            [`append to ${f}`, `echo evil >> '${f}'`],
            [`truncate ${f}`, `truncate -s 0 '${f}'`],
            [`delete ${f}`, `rm -f '${f}' && ! test -e '${f}'`],
            [`rename ${f}`, `mv '${f}' '${f}.moved'`],
            [`hard-link ${f} into /tmp`, `ln '${f}' /tmp/torpor-nobody-link-${process.pid}`],
            [`chmod ${f}`, `chmod 666 '${f}'`],
          ]),
        ];
        for (const [name, script] of attempts) if (asNobody(script)) got.push(`${name} (data dir ${dataDirMode.toString(8)})`);
      } finally {
        chmodSync(rt.dir, 0o700);
        rmSync(`/tmp/torpor-nobody-link-${process.pid}`, { force: true });
      }
    }
    console.log(`other user: ${(folders.length * 2 + files.length * 6) * 2} attempts as nobody, ${got.length} succeeded${got.length ? `: ${got.slice(0, 6).join("; ")}` : ""}`);
    expect(got).toEqual([]);
    for (const [f, content] of before) expect(readFileSync(f).equals(content), `${f} unchanged`).toBe(true);
    for (const d of folders) expect(existsSync(path.join(d, "planted-by-nobody"))).toBe(false);
  }, 120_000);
});
