/**
 * The E2B adapter never leaves a setuid, setgid or sticky bit in a sandbox (issue 14): writeFile's
 * chmod, a tar import (restore) and the scan that feeds a manifest all mask modes to 0o777, like
 * the local provider. Run against the mocked SDK (./fake-e2b), whose sandbox is a real folder
 * under bubblewrap, so the modes are read back with `stat` inside it. The import keeps everything
 * else: pax mtimes, long names, symlinks, hard links, and the refusal of an escaping entry.
 */
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createE2BProvider, type SandboxProvider } from "../../src/sandbox";
import { checkedTar } from "../../src/sandbox/e2b/checked-tar";
import { expectCode, makeTar } from "./helpers";
import { cleanUpFakes } from "./fake-e2b";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("./fake-e2b")).FakeSandbox,
}));
afterAll(cleanUpFakes);

let provider: SandboxProvider;
beforeEach(() => {
  provider = createE2BProvider({ apiKey: "e2b_key", template: "base", startGraceMs: 500 });
});

/** Octal modes as the sandbox itself sees them (`stat -c %a`). */
async function modesIn(id: string, paths: string[]): Promise<Record<string, string>> {
  const run = await provider.exec(id, `stat -c '%n %a' ${paths.map((p) => `'${p}'`).join(" ")}`);
  expect(run.exitCode, run.stderr).toBe(0);
  return Object.fromEntries(run.stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]));
}

const LONG = `${"deep/".repeat(30)}name.txt`; // 158 characters: a pax path record

describe("e2b adapter: no setuid, setgid or sticky bit", () => {
  it("writeFile with mode 0o6755 lands as 0755", async () => {
    const { id } = await provider.create({ template: "base" });
    await provider.writeFile(id, "suid.sh", "#!/bin/sh\n", 0o6755);
    expect(await modesIn(id, ["suid.sh"])).toEqual({ "suid.sh": "755" });
    await provider.kill(id);
  });

  it("a tar import (a restore) strips them and keeps modes, pax mtimes, long names, links", async () => {
    const { id } = await provider.create({ template: "base" });
    const mtime = new Date(1_700_000_000_123);
    const pack = tar.pack();
    const entry = (h: Partial<tar.Header> & { name: string } & { pax?: Record<string, string> }, body?: string) =>
      new Promise<void>((resolve, reject) => pack.entry(h, body ?? "", (e) => (e ? reject(e) : resolve())));
    const writing = (async () => {
      await entry({ name: "shared", type: "directory", mode: 0o3775, mtime });
      await entry({ name: "tmpish", type: "directory", mode: 0o1777, mtime });
      await entry({ name: "shared/suid-sh", type: "file", mode: 0o4755, mtime, pax: { mtime: "1700000000.123" } }, "binary");
      await entry({ name: "sgid", type: "file", mode: 0o2640, mtime }, "g");
      await entry({ name: "plain", type: "file", mode: 0o640, mtime }, "p");
      await entry({ name: "hard", type: "link", linkname: "shared/suid-sh", mode: 0o4755, mtime });
      await entry({ name: "link", type: "symlink", linkname: "plain", mtime });
      await entry({ name: LONG, type: "file", mode: 0o600, mtime }, "long");
      pack.finalize();
    })();
    await provider.importTar(id, pack as unknown as Readable);
    await writing;
    expect(await modesIn(id, ["shared", "tmpish", "shared/suid-sh", "sgid", "plain", "hard", LONG])).toEqual({
      shared: "775", tmpish: "777", "shared/suid-sh": "755", sgid: "640", plain: "640", hard: "755", [LONG]: "600",
    });
    const scan = new Map((await provider.scan(id)).map((e) => [e.path, e]));
    expect(scan.get("shared/suid-sh")?.mtimeMs).toBe(1_700_000_000_123); // the pax record survived the re-encoding
    expect(scan.get("link")).toMatchObject({ type: "symlink", target: "plain" });
    expect(scan.get(LONG)).toMatchObject({ type: "file", size: 4 });
    expect((await provider.readFile(id, "hard")).toString()).toBe("binary");
    await provider.kill(id);
  });

  it("the scan reports a sandbox's own chmod 4755 / 2755 / 1777 stripped", async () => {
    const { id } = await provider.create({ template: "base" });
    const run = await provider.exec(id, "echo x > own && chmod 4755 own && mkdir g t && chmod 2755 g && chmod 1777 t && stat -c %a own g t");
    expect(run.stdout.split("\n").slice(0, 3)).toEqual(["4755", "2755", "1777"]); // the bits are really there
    const modes = Object.fromEntries((await provider.scan(id)).map((e) => [e.path, e.mode]));
    expect(modes).toEqual({ own: 0o755, g: 0o755, t: 0o777 });
    await provider.kill(id);
  });

  it("an escaping entry is still refused, and nothing of that archive is extracted", async () => {
    const { id } = await provider.create({ template: "base" });
    const archive = makeTar([
      { name: "first.txt", content: "1", mode: 0o4755 },
      { name: "esc", type: "symlink", linkname: "/etc" },
      { name: "esc/passwd", content: "evil" },
    ]);
    await expectCode(provider.importTar(id, archive), "UNSAFE_PATH");
    expect(await provider.scan(id)).toEqual([]);
    await provider.kill(id);
  });

  it("checkedTar never forwards a refused entry", async () => {
    const { body, verdict } = checkedTar(makeTar([{ name: "ok.txt", content: "ok" }, { name: "../out", content: "x" }]), []);
    const seen: string[] = [];
    const extract = tar.extract();
    body.on("error", () => undefined);
    body.pipe(extract as unknown as NodeJS.WritableStream);
    const reading = (async () => {
      for await (const e of extract) {
        seen.push(e.header.name);
        e.resume();
      }
    })().catch(() => undefined);
    await expectCode(verdict, "UNSAFE_PATH");
    extract.destroy();
    await reading;
    expect(seen).not.toContain("../out");
  });
});
