/**
 * Hard links are never a way out of the workspace (issue 14). An attacker's tar (an import, a
 * restore) may hold a hard link to /etc/passwd, to `../` something, to a path through a symlink it
 * made first, or to a symlink (which makes the link's name an unchecked symlink); a sandbox
 * process may try `ln` on host files; a restore target may already hold a hard link to a file
 * outside it. What each path does:
 * - local import (src/sandbox/local/tar.ts): a hard link is never created; its target, a checked
 *   workspace path opened by descriptors without following links, is copied into a new file.
 * - E2B import (src/sandbox/e2b/checked-tar.ts, then GNU tar in the sandbox): an escaping target,
 *   or one that is or lies below a symlink, is refused (UNSAFE_PATH) before tar runs.
 * - a bubblewrap sandbox cannot link to a host file: every host path it sees is another mount (EXDEV).
 * - checkpoints (src/checkpoint) have no hard-link entry: a snapshot stores each name as a file and
 *   a restore writes new files, replacing (never writing through) a hard link already in the target.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, linkSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createCheckpointEngine, localDirSource, localDirTarget } from "../../src/checkpoint";
import { createE2BProvider, createLocalProvider } from "../../src/sandbox";
import { checkedTar } from "../../src/sandbox/e2b/checked-tar";
import { createFsObjectStore, prepareFsObjectStore } from "../../src/objectstore/fs";
import { expectCode } from "./helpers";
import { cleanUpFakes } from "./fake-e2b";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("./fake-e2b")).FakeSandbox,
}));

const temps: string[] = [];
const temp = (name: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `torpor-hardlink-${name}-`));
  temps.push(d);
  return d;
};
afterAll(async () => {
  await cleanUpFakes();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

type Entry = Partial<tar.Header> & { name: string; body?: string };
/** A tar of raw entries, hard links included (tests/sandbox/helpers' makeTar has none). */
function tarOf(entries: Entry[]): Readable {
  const pack = tar.pack();
  void (async () => {
    for (const { body, ...h } of entries) {
      const header = { mode: 0o644, mtime: new Date(), ...h };
      await new Promise<void>((resolve, reject) => pack.entry(header, body ?? "", (e) => (e ? reject(e) : resolve())));
    }
    pack.finalize();
  })();
  return pack as unknown as Readable;
}

const PASSWD = readFileSync("/etc/passwd");
/** Attacks every importer must refuse; each is tried in a fresh workspace. */
const ATTACKS: { name: string; entries: Entry[] }[] = [
  { name: "a hard link to /etc/passwd", entries: [{ name: "p", type: "link", linkname: "/etc/passwd" }] },
  { name: "a hard link to ../../../../etc/passwd", entries: [{ name: "p", type: "link", linkname: "../../../../../../etc/passwd" }] },
  { name: "a symlink to /etc, then a hard link through it", entries: [{ name: "s", type: "symlink", linkname: "/etc" }, { name: "p", type: "link", linkname: "s/passwd" }] },
  {
    name: "a symlink to /tmp, a hard link to the symlink, then a file below the link",
    entries: [{ name: "s", type: "symlink", linkname: "/tmp" }, { name: "h", type: "link", linkname: "s" }, { name: "h/planted-by-tar", body: "evil" }],
  },
];

describe("local provider: a tar import never makes a hard link", () => {
  const root = temp("local");
  const provider = createLocalProvider({ root: path.join(root, "sandboxes"), bubblewrap: "off" });

  it.each(ATTACKS)("refuses $name, reads nothing of the host", async ({ entries }) => {
    const { id } = await provider.create({ template: "base" });
    await expect(provider.importTar(id, tarOf(entries))).rejects.toMatchObject({ code: expect.stringMatching(/UNSAFE_PATH|PROVIDER|VALIDATION/) });
    const workspace = path.join(root, "sandboxes", id, "workspace");
    for (const name of readdirSync(workspace)) {
      const st = statSync(path.join(workspace, name), { throwIfNoEntry: false });
      if (st?.isFile()) expect(readFileSync(path.join(workspace, name)).equals(PASSWD), `${name} holds /etc/passwd`).toBe(false);
    }
    expect(existsSync("/tmp/planted-by-tar")).toBe(false);
    expect(readFileSync("/etc/passwd").equals(PASSWD)).toBe(true);
    await provider.kill(id);
  });

  it("copies a hard link inside the workspace into a file of its own", async () => {
    const { id } = await provider.create({ template: "base" });
    await provider.importTar(id, tarOf([{ name: "a.txt", body: "shared", size: 6 }, { name: "b.txt", type: "link", linkname: "a.txt" }]));
    const workspace = path.join(root, "sandboxes", id, "workspace");
    const [a, b] = ["a.txt", "b.txt"].map((n) => statSync(path.join(workspace, n)));
    expect(readFileSync(path.join(workspace, "b.txt"), "utf8")).toBe("shared");
    expect([a!.nlink, b!.nlink, a!.ino === b!.ino]).toEqual([1, 1, false]);
    await provider.kill(id);
  });
});

describe("E2B adapter: the checked tar refuses a hard link that leaves the workspace", () => {
  it.each(ATTACKS)("refuses $name before tar runs", async ({ entries }) => {
    const provider = createE2BProvider({ apiKey: "e2b_key", template: "base", startGraceMs: 500 });
    const { id } = await provider.create({ template: "base" });
    await expectCode(provider.importTar(id, tarOf(entries)), "UNSAFE_PATH");
    const left = await provider.exec(id, "ls -A /workspace; ls -A /tmp");
    expect(left.stdout.trim()).toBe("");
    await provider.kill(id);
  });

  it("refuses a hard link to a symlink already in the workspace, or below one", async () => {
    for (const linkname of ["lnk", "lnk/passwd"]) {
      const { verdict, body } = checkedTar(tarOf([{ name: "p", type: "link", linkname }]), ["lnk"]);
      body.resume();
      await expectCode(verdict, "UNSAFE_PATH");
    }
    const ok = checkedTar(tarOf([{ name: "a", body: "x", size: 1 }, { name: "b", type: "link", linkname: "a" }]), ["lnk"]);
    ok.body.resume();
    await ok.verdict;
  });
});

describe.runIf(process.getuid?.() === 0)("bubblewrap sandbox: ln to a host file fails", () => {
  it("cannot hard-link /etc/passwd, a system binary, its /tmp or its home into the workspace", async () => {
    const root = temp("bwrap");
    const provider = createLocalProvider({ root: path.join(root, "sandboxes"), bubblewrap: "required" });
    const { id } = await provider.create({ template: "base" });
    const run = await provider.exec(id, [
      "echo t > /tmp/t; echo h > ~/h",
      "for f in /etc/passwd /usr/bin/env /tmp/t $HOME/h; do ln \"$f\" ./link-$(basename $f) 2>/dev/null && echo LINKED $f; done",
      "true",
    ].join("\n"));
    expect(run.stdout).not.toContain("LINKED");
    expect(readdirSync(path.join(root, "sandboxes", id, "workspace"))).toEqual([]);
    await provider.kill(id);
  });
});

describe("checkpoints store no hard link, and a restore never writes through one", () => {
  it("a snapshot of two linked names restores as two files; --force replaces a hard link to a file outside", async () => {
    const source = temp("src");
    writeFileSync(path.join(source, "a.txt"), "shared");
    linkSync(path.join(source, "a.txt"), path.join(source, "b.txt"));
    const store = { root: temp("store"), bucket: "torpor" };
    await prepareFsObjectStore(store);
    const engine = createCheckpointEngine({ objects: createFsObjectStore(store) });
    const { checkpoint } = await engine.snapshot(localDirSource(source));

    const fresh = path.join(temp("restore"), "out");
    await engine.restore(checkpoint, localDirTarget(fresh));
    const [a, b] = ["a.txt", "b.txt"].map((n) => statSync(path.join(fresh, n)));
    expect([a!.nlink, b!.nlink, a!.ino === b!.ino]).toEqual([1, 1, false]);

    // The target holds a hard link to a file outside it (an "/etc/passwd" of the test's own).
    const outside = path.join(temp("outside"), "passwd");
    writeFileSync(outside, "root:x:0:0\n");
    const target = temp("target");
    mkdirSync(target, { recursive: true });
    linkSync(outside, path.join(target, "a.txt"));
    await engine.restore(checkpoint, localDirTarget(target), { allowNonEmpty: true });
    expect(readFileSync(outside, "utf8")).toBe("root:x:0:0\n");
    expect(readFileSync(path.join(target, "a.txt"), "utf8")).toBe("shared");
    expect(statSync(path.join(target, "a.txt")).ino).not.toBe(statSync(outside).ino);
  });
});
