/**
 * The SandboxProvider contract: what every provider must do, run against each adapter
 * (local.contract.test.ts for the local provider, e2b.live.test.ts for E2B when a key is set).
 * Every sandbox a test creates is killed in afterAll.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreateSandboxOptions, FileEvent, SandboxInfo, SandboxProvider } from "../../src/sandbox";
import type { ErrorCode } from "../../src/core/errors";
import { eventually, expectCode, makeTar, readTar, sha256 } from "./helpers";

export interface ContractOptions {
  template?: string;
  /** The code for an id the provider never issued (E2B cannot tell it from a gone sandbox). */
  unknownIdCodes?: ErrorCode[];
  unknownId?: string;
}

export function providerContract(name: string, makeProvider: () => SandboxProvider | Promise<SandboxProvider>, options: ContractOptions = {}): void {
  describe(`${name}: SandboxProvider contract`, () => {
    let provider: SandboxProvider;
    const created: string[] = [];
    const create = async (opts: Partial<CreateSandboxOptions> = {}): Promise<SandboxInfo> => {
      const info = await provider.create({ template: options.template ?? "base", ...opts });
      created.push(info.id);
      return info;
    };

    beforeAll(async () => {
      provider = await makeProvider();
    });
    afterAll(async () => {
      for (const id of created) await provider.kill(id).catch(() => undefined);
    });

    it("creates a sandbox, writes files, scans them, runs commands and transfers them out as one tar", async () => {
      const info = await create({ metadata: { owner: "contract" }, env: { GREETING: "hi there" } });
      expect(info.status).toBe("running");
      expect(info.provider).toBe(provider.kind);
      expect(info.metadata.owner).toBe("contract");
      await provider.writeFile(info.id, "a/b.txt", "hello");
      await provider.writeFile(info.id, "bin/run.sh", "#!/bin/sh\necho ran\n", 0o755);
      const made = await provider.exec(info.id, "ln -s a/b.txt link && mkdir -p empty && printf '%s' \"$GREETING\" > env.txt");
      expect(made.exitCode).toBe(0);

      const scan = new Map((await provider.scan(info.id)).map((e) => [e.path, e]));
      expect(scan.get("a")?.type).toBe("dir");
      expect(scan.get("a/b.txt")).toMatchObject({ type: "file", size: 5 });
      expect(scan.get("bin/run.sh")).toMatchObject({ type: "file", mode: 0o755 });
      expect(scan.get("link")).toMatchObject({ type: "symlink", target: "a/b.txt" });
      expect(scan.get("empty")?.type).toBe("dir");
      expect((await provider.scan(info.id, "a")).map((e) => e.path)).toEqual(["a/b.txt"]);

      expect((await provider.readFile(info.id, "env.txt")).toString()).toBe("hi there");
      expect((await provider.readFile(info.id, "a/b.txt")).toString()).toBe("hello");
      expect(await provider.hashFiles(info.id, ["a/b.txt", "missing.txt"])).toEqual({ "a/b.txt": sha256("hello") });

      const out = await readTar(await provider.exportTar(info.id, ["a", "a/b.txt", "bin/run.sh", "link", "gone.txt"]));
      expect([...out.keys()].sort()).toEqual(["a", "a/b.txt", "bin/run.sh", "link"]);
      expect(out.get("a/b.txt")).toMatchObject({ type: "file", content: "hello" });
      expect(out.get("bin/run.sh")).toMatchObject({ type: "file", mode: 0o755 });
      expect(out.get("link")).toMatchObject({ type: "symlink", linkname: "a/b.txt" });
      expect(out.get("a")?.type).toBe("directory");

      const ran = await provider.exec(info.id, "./bin/run.sh && pwd", {});
      // Unisolated local sandboxes run in the host folder, whose name also ends in /workspace.
      expect(ran.stdout).toMatch(/^ran\n(.*\/)?workspace\n$/);
      expect((await provider.exec(info.id, "pwd", { cwd: "a" })).stdout.trim()).toMatch(/(^|\/)workspace\/a$/);
      expect((await provider.exec(info.id, "printf %s \"$X\"", { env: { X: "from exec" } })).stdout).toBe("from exec");
      expect((await provider.exec(info.id, "echo oops >&2; exit 7")).exitCode).toBe(7);
    });

    it("pauses (status paused), resumes on connect, and its processes are still alive", async () => {
      const info = await create();
      await provider.exec(info.id, "i=0; while true; do i=$((i+1)); echo $i > counter.tmp; mv counter.tmp counter; sleep 0.05; done", {
        background: true,
      });
      const before = await eventually(async () => Number((await provider.readFile(info.id, "counter")).toString()) || null, "counter starts");
      await provider.pause(info.id);
      expect(await provider.status(info.id)).toBe("paused");
      const resumed = await provider.connect(info.id);
      expect(resumed.status).toBe("running");
      expect(await provider.status(info.id)).toBe("running");
      await eventually(async () => Number((await provider.readFile(info.id, "counter")).toString()) > before, "counter moves on after resume");
    });

    it("kill ends the sandbox: status gone, methods fail SANDBOX_GONE, killing again is fine", async () => {
      const info = await create();
      await provider.writeFile(info.id, "x.txt", "x");
      await provider.kill(info.id);
      expect(await provider.status(info.id)).toBe("gone");
      await expectCode(provider.readFile(info.id, "x.txt"), "SANDBOX_GONE");
      await expectCode(provider.connect(info.id), "SANDBOX_GONE");
      await provider.kill(info.id);
    });

    it("imports a tar stream into a new sandbox and finds every file, mode and symlink again", async () => {
      const info = await create();
      const mtime = new Date("2024-05-06T07:08:09Z");
      await provider.importTar(info.id, makeTar([
        { name: "src", type: "directory", mode: 0o750, mtime },
        { name: "src/main.js", content: "console.log(1)\n", mode: 0o644, mtime },
        { name: "bin/tool", content: "#!/bin/sh\n", mode: 0o755, mtime },
        { name: "deep/a/b/c.txt", content: "deep", mtime },
        { name: "empty.txt", content: "", mode: 0o600, mtime },
        { name: "latest", type: "symlink", linkname: "src/main.js", mtime },
        { name: "dangling", type: "symlink", linkname: "../../elsewhere", mtime },
      ]));
      const scan = new Map((await provider.scan(info.id)).map((e) => [e.path, e]));
      expect(scan.get("src")).toMatchObject({ type: "dir", mode: 0o750 });
      expect(scan.get("src/main.js")).toMatchObject({ type: "file", mode: 0o644, size: 15 });
      expect(Math.floor(scan.get("src/main.js")!.mtimeMs / 1000)).toBe(mtime.getTime() / 1000);
      expect(scan.get("bin/tool")).toMatchObject({ type: "file", mode: 0o755 });
      expect(scan.get("deep/a/b/c.txt")).toMatchObject({ type: "file", size: 4 });
      expect(scan.get("empty.txt")).toMatchObject({ type: "file", mode: 0o600, size: 0 });
      expect(scan.get("latest")).toMatchObject({ type: "symlink", target: "src/main.js" });
      expect(scan.get("dangling")).toMatchObject({ type: "symlink", target: "../../elsewhere" });
      expect((await provider.readFile(info.id, "deep/a/b/c.txt")).toString()).toBe("deep");
    });

    it("refuses paths outside the workspace, '..' and absolute names, and symlink escapes in transfers", async () => {
      const info = await create();
      await expectCode(provider.readFile(info.id, "../state.json"), "UNSAFE_PATH");
      await expectCode(provider.writeFile(info.id, "/tmp/evil", "x"), "UNSAFE_PATH");
      await expectCode(provider.scan(info.id, "a/../.."), "UNSAFE_PATH");
      await expectCode(provider.hashFiles(info.id, ["/etc/passwd"]), "UNSAFE_PATH");
      await expectCode(Promise.resolve().then(() => provider.exportTar(info.id, ["x/../../y"])), "UNSAFE_PATH");
      await expectCode(provider.exec(info.id, "true", { cwd: "../" }), "UNSAFE_PATH");

      await expectCode(provider.importTar(info.id, makeTar([{ name: "../evil-dotdot", content: "x" }])), "UNSAFE_PATH");
      await expectCode(provider.importTar(info.id, makeTar([{ name: "/tmp/evil-abs", content: "x" }])), "UNSAFE_PATH");
      await expectCode(
        provider.importTar(info.id, makeTar([
          { name: "out", type: "symlink", linkname: "/tmp" },
          { name: "out/evil-link", content: "x" },
        ])),
        "UNSAFE_PATH",
      );
      await provider.exec(info.id, "ln -s /tmp pre");
      await expectCode(provider.importTar(info.id, makeTar([{ name: "pre/evil-pre", content: "x" }])), "UNSAFE_PATH");
      const check = await provider.exec(info.id, "ls /tmp /workspace/.. 2>/dev/null | grep evil || echo clean");
      expect(check.stdout.trim()).toBe("clean");
    });

    it("scans, hashes and transfers names with spaces, quotes, backslashes and newlines", async () => {
      const info = await create();
      const names = ["with space.txt", "it's \"quoted\".txt", "back\\slash.txt", "new\nline.txt", "dir with space/-dash.txt"];
      await provider.importTar(info.id, makeTar(names.map((name) => ({ name, content: `<${name}>` }))));
      const scanned = (await provider.scan(info.id)).filter((e) => e.type === "file").map((e) => e.path).sort();
      expect(scanned).toEqual([...names].sort());
      expect(Object.keys(await provider.hashFiles(info.id, names)).sort()).toEqual([...names].sort());
      const out = await readTar(await provider.exportTar(info.id, names));
      for (const name of names) expect(out.get(name)?.content).toBe(`<${name}>`);
    });

    it("answers an id it never issued with a typed error", async () => {
      const unknown = options.unknownId ?? "sbx_000000000aaaaaaaaaaaaaaaaaaaa";
      const codes = options.unknownIdCodes ?? ["SANDBOX_NOT_FOUND"];
      await expectCode(provider.connect(unknown), codes);
      await expectCode(provider.exec(unknown, "true"), codes);
      await expectCode(provider.readFile(unknown, "x"), codes);
    });

    it("reports a start command that exits at once, and keeps one that runs", async () => {
      await expectCode(provider.create({ template: options.template ?? "base", startCommand: "echo boom-output >&2; exit 3" }), "PROVIDER");
      const error = await provider.create({ template: options.template ?? "base", startCommand: "echo boom-output; exit 3" }).catch((e: Error) => e);
      expect(String((error as Error).message)).toContain("boom-output");
      const info = await create({ startCommand: "while true; do date > started; sleep 0.2; done" });
      expect(info.status).toBe("running");
      await eventually(() => provider.readFile(info.id, "started"), "start command writes");
    });

    it("times out a long command with TIMEOUT", async () => {
      const info = await create();
      await expectCode(provider.exec(info.id, "sleep 30", { timeoutMs: 300 }), "TIMEOUT");
    });

    it("feeds debounced file events with workspace-relative paths", async () => {
      const info = await create();
      const events: FileEvent[] = [];
      const stop = await provider.watch(info.id, (batch) => events.push(...batch));
      try {
        await provider.writeFile(info.id, "watched/one.txt", "1");
        await eventually(() => events.some((e) => e.path === "watched/one.txt" && e.operation === "write"), "write event");
        await provider.exec(info.id, "rm watched/one.txt");
        await eventually(() => events.some((e) => e.path === "watched/one.txt" && e.operation === "delete"), "delete event");
      } finally {
        await stop();
      }
    });
  });
}
