/**
 * The local provider lends a new sandbox's workspace folder to a restore (issue 13): the engine's
 * own folder writer (writer threads) then writes the files, which is only safe because no sandbox
 * process exists to swap a folder for a symlink while it writes. These tests hold the provider to
 * the promise: a loan only for a sandbox no process ever ran in, with nothing in its folder it did
 * not lend out; no process starts while it is out; a loan ends with a whole restore (given to the
 * sandbox's user) or an empty folder; one left out by a crash is taken back by the next.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget } from "../../src/checkpoint";
import { createFsObjectStore, prepareFsObjectStore } from "../../src/objectstore/fs";
import { createLocalProvider } from "../../src/sandbox";
import { dropsToSandboxUid, SANDBOX_UID } from "../../src/sandbox/local/bwrap";
import { expectCode } from "./helpers";

const root = mkdtempSync(path.join(tmpdir(), "torpor-loan-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sandboxes = path.join(root, "sandboxes");
const provider = createLocalProvider({ root: sandboxes, bubblewrap: "required", log: () => {} });
const statePath = (id: string) => path.join(sandboxes, id, "state.json");

describe("lendQuietWorkspace", () => {
  it("lends an empty new sandbox's folder, refuses processes while it is out, and gives the files to the sandbox's user", async () => {
    const { id } = await provider.create({ template: "base" });
    const loan = await provider.lendQuietWorkspace!(id);
    expect(loan).not.toBeNull();
    expect(loan!.folder).toBe(path.join(sandboxes, id, "workspace"));
    expect(readdirSync(loan!.folder)).toEqual([]);
    mkdirSync(path.join(loan!.folder, "src"));
    writeFileSync(path.join(loan!.folder, "src", "a.txt"), "restored\n");
    await expectCode(provider.exec(id, "true"), "PROVIDER");
    await expectCode(provider.exec(id, "sleep 30", { background: true }), "PROVIDER");
    expect(await provider.lendQuietWorkspace!(id)).toBeNull(); // one loan at a time
    await loan!.release(true);
    const ran = await provider.exec(id, "cat src/a.txt; id -u");
    expect(ran.stdout.split("\n")[0]).toBe("restored");
    if (dropsToSandboxUid()) {
      // The process runs as the sandbox's user, and the restored files are that user's.
      expect(ran.stdout.split("\n")[1]).toBe(String(SANDBOX_UID));
      expect(statSync(path.join(loan!.folder, "src", "a.txt")).uid).toBe(SANDBOX_UID);
      expect(statSync(path.join(loan!.folder, "src")).uid).toBe(SANDBOX_UID);
    }
    // A process has run now: never again.
    expect(await provider.lendQuietWorkspace!(id)).toBeNull();
  });

  it("does not lend a sandbox that ran a start command or an exec, or holds files it did not lend out", async () => {
    const started = await provider.create({ template: "base", startCommand: "sleep 60" });
    expect(await provider.lendQuietWorkspace!(started.id)).toBeNull();
    const execed = await provider.create({ template: "base" });
    await provider.exec(execed.id, "true");
    expect(await provider.lendQuietWorkspace!(execed.id)).toBeNull();
    const written = await provider.create({ template: "base" });
    await provider.writeFile(written.id, "notes.md", "mine");
    expect(await provider.lendQuietWorkspace!(written.id)).toBeNull();
    for (const s of [started, execed, written]) await provider.kill(s.id);
  });

  it("does not lend a sandbox recorded before the provider kept track of its processes", async () => {
    const { id } = await provider.create({ template: "base" });
    const state = JSON.parse(readFileSync(statePath(id), "utf8")) as Record<string, unknown>;
    delete state.processStarted;
    writeFileSync(statePath(id), JSON.stringify(state));
    expect(await provider.lendQuietWorkspace!(id)).toBeNull();
  });

  it("ends a failed loan with an empty folder, and lends it again", async () => {
    const { id } = await provider.create({ template: "base" });
    const loan = (await provider.lendQuietWorkspace!(id))!;
    writeFileSync(path.join(loan.folder, "half.txt"), "partial");
    await loan.release(false);
    expect(readdirSync(loan.folder)).toEqual([]);
    const again = await provider.lendQuietWorkspace!(id);
    expect(again).not.toBeNull();
    await again!.release(true);
  });

  it("takes back a loan a crash left out: a restarted provider empties the folder and lends it", async () => {
    const { id } = await provider.create({ template: "base" });
    const loan = (await provider.lendQuietWorkspace!(id))!;
    mkdirSync(path.join(loan.folder, "deep", "er"), { recursive: true });
    writeFileSync(path.join(loan.folder, "deep", "er", "x"), "x");
    // The process died here: no release. A new provider on the same folder finds the loan out.
    const restarted = createLocalProvider({ root: sandboxes, bubblewrap: "required", log: () => {} });
    await expectCode(restarted.exec(id, "true"), "PROVIDER");
    const taken = await restarted.lendQuietWorkspace!(id);
    expect(taken).not.toBeNull();
    expect(readdirSync(taken!.folder)).toEqual([]);
    await taken!.release(true);
    expect((await restarted.exec(id, "true")).exitCode).toBe(0);
  });

  it("a release after the sandbox was killed is a no-op", async () => {
    const { id } = await provider.create({ template: "base" });
    const loan = (await provider.lendQuietWorkspace!(id))!;
    await provider.kill(id);
    await expect(loan.release(true)).resolves.toBeUndefined();
  });

  it("a checkpoint restored into the lent folder is what the sandbox then sees, modes without setuid", async () => {
    const source = path.join(root, "source");
    mkdirSync(path.join(source, "bin"), { recursive: true });
    writeFileSync(path.join(source, "bin", "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o4755 });
    writeFileSync(path.join(source, "README.md"), "# hi\n");
    const objects = { root: path.join(root, "objects"), bucket: "torpor" };
    await prepareFsObjectStore(objects);
    const engine = createCheckpointEngine({ objects: createFsObjectStore(objects) });
    const { checkpoint } = await engine.snapshot(localDirSource(source));
    const { id } = await provider.create({ template: "base" });
    const loan = (await provider.lendQuietWorkspace!(id))!;
    await engine.restore(checkpoint, localDirTarget(loan.folder), { allowNonEmpty: true });
    await loan.release(true);
    expect((await provider.exec(id, "sh bin/run.sh && cat README.md")).stdout).toBe("hi\n# hi\n");
    const hashes = await provider.hashFiles(id, ["bin/run.sh", "README.md"]);
    expect(Object.keys(hashes).sort()).toEqual(["README.md", "bin/run.sh"]);
    expect(statSync(path.join(loan.folder, "bin", "run.sh")).mode & 0o7777).toBe(0o755);
    expect(readdirSync(loan.folder).sort()).toEqual(["README.md", "bin"]); // no restore marker left
  });
});
