/**
 * The E2B adapter against the mocked SDK (./fake-e2b): every SDK method it calls, with the
 * arguments it must pass; batched transfer (one archive, never a write per file); error mapping.
 */
import { AuthenticationError, NotFoundError, RateLimitError, SandboxNotFoundError, TimeoutError } from "e2b";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createE2BProvider, type SandboxProvider } from "../../src/sandbox";
import { PREPARE_WORKSPACE } from "../../src/sandbox/e2b/scripts";
import { isTorporError } from "../../src/core/errors";
import { expectCode, makeTar, readTar } from "./helpers";
import { cleanUpFakes, FakeSandbox } from "./fake-e2b";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("./fake-e2b")).FakeSandbox,
}));
afterAll(cleanUpFakes);

const conn = { apiKey: "e2b_key", domain: "e2b.example" };
const LIFETIME = 21 * 60_000; // the default: idle 10 min + sweep 1 min + hibernate budget 10 min
const lifecycle = { onTimeout: "pause", autoResume: false };
let provider: SandboxProvider;

/** The fake instance the adapter got from create/connect, to inspect its spies. */
async function instanceOf(id: string): Promise<FakeSandbox> {
  const results = [...FakeSandbox.create.mock.results, ...FakeSandbox.connect.mock.results];
  for (const r of results.reverse()) {
    const sbx = (await r.value) as FakeSandbox;
    if (sbx.sandboxId === id) return sbx;
  }
  throw new Error(`no fake instance for ${id}`);
}

beforeEach(() => {
  vi.clearAllMocks();
  provider = createE2BProvider({ ...conn, template: "default-tpl", startGraceMs: 1000 });
});

describe("e2b adapter: lifecycle calls", () => {
  it("create passes template, envs, timeout, metadata, network; makes /workspace as root; starts the start command", async () => {
    const info = await provider.create({
      template: "node-20", env: { A: "1" }, timeoutMs: 300_000, metadata: { session: "ses_1" }, network: false,
      startCommand: "sleep 1000",
    });
    expect(FakeSandbox.create).toHaveBeenCalledWith("node-20", {
      ...conn, envs: { A: "1" }, timeoutMs: 300_000, lifecycle, metadata: { session: "ses_1" }, allowInternetAccess: false,
    });
    const sbx = await instanceOf(info.id);
    expect(sbx.commands.run).toHaveBeenNthCalledWith(1, PREPARE_WORKSPACE, { user: "root", timeoutMs: 600_000, requestTimeoutMs: 600_000 });
    expect(sbx.commands.run).toHaveBeenNthCalledWith(2, "sleep 1000", { background: true, cwd: "/workspace", envs: { A: "1" }, timeoutMs: 0 });
    const startHandle = (await sbx.commands.run.mock.results[1]!.value) as { disconnect: ReturnType<typeof vi.fn> };
    expect(startHandle.disconnect).toHaveBeenCalledTimes(1); // still running after the grace period: keep it, stop listening
    expect(info).toMatchObject({ id: info.id, provider: "e2b", template: "node-20", status: "running", isolated: true, metadata: { session: "ses_1" } });
    await provider.kill(info.id);
  });

  it("create falls back to the configured template; pause, connect, status and kill call the SDK by id", async () => {
    const { id } = await provider.create({ template: "" });
    expect(FakeSandbox.create).toHaveBeenCalledWith("default-tpl", { ...conn, timeoutMs: LIFETIME, lifecycle });
    await provider.pause(id);
    expect(FakeSandbox.pause).toHaveBeenCalledWith(id, conn);
    expect(await provider.status(id)).toBe("paused");
    expect(FakeSandbox.getInfo).toHaveBeenLastCalledWith(id, conn);
    const info = await provider.connect(id);
    expect(FakeSandbox.connect).toHaveBeenCalledWith(id, { ...conn, timeoutMs: LIFETIME });
    expect(info.status).toBe("running");
    await provider.kill(id);
    expect(FakeSandbox.kill).toHaveBeenCalledWith(id, conn);
    expect(await provider.status(id)).toBe("gone");
    await provider.kill(id); // Sandbox.kill answers false: not an error
  });

  it("after pause, the next file call connects (resumes) instead of using the stale handle", async () => {
    const { id } = await provider.create({ template: "base" });
    await provider.writeFile(id, "a.txt", "a");
    await provider.pause(id);
    FakeSandbox.connect.mockClear();
    expect((await provider.readFile(id, "a.txt")).toString()).toBe("a");
    expect(FakeSandbox.connect).toHaveBeenCalledWith(id, { ...conn, timeoutMs: LIFETIME });
    await provider.kill(id);
  });

  it("exec passes cwd, envs and timeout; a failing command is a result, not an error", async () => {
    const { id } = await provider.create({ template: "base" });
    const sbx = await instanceOf(id);
    await provider.exec(id, "mkdir -p sub");
    const result = await provider.exec(id, "pwd; echo $V; exit 4", { cwd: "sub", env: { V: "v" }, timeoutMs: 5000 });
    expect(sbx.commands.run).toHaveBeenLastCalledWith("pwd; echo $V; exit 4", { cwd: "/workspace/sub", envs: { V: "v" }, timeoutMs: 5000 });
    expect(result).toEqual({ exitCode: 4, stdout: "/workspace/sub\nv\n", stderr: "" });
    expect(await provider.exec(id, "sleep 1000", { background: true })).toEqual({ exitCode: null, stdout: "", stderr: "" });
    expect(sbx.commands.run).toHaveBeenLastCalledWith("sleep 1000", { cwd: "/workspace", envs: {}, background: true, timeoutMs: 0 });
    await provider.kill(id);
  });

  it("watch uses files.watchDir on /workspace, recursive, without a timeout, and stop() stops it", async () => {
    const { id } = await provider.create({ template: "base" });
    const sbx = await instanceOf(id);
    const stop = await provider.watch(id, () => undefined);
    expect(sbx.files.watchDir).toHaveBeenCalledWith("/workspace", expect.any(Function), { recursive: true, timeoutMs: 0 });
    const handle = (await sbx.files.watchDir.mock.results[0]!.value) as { stop: ReturnType<typeof vi.fn> };
    await stop();
    expect(handle.stop).toHaveBeenCalledTimes(1);
    await provider.kill(id);
  });
});

describe("e2b adapter: batched transfer", () => {
  it("exports many files as ONE archive: one list upload, one tar command, one streamed download", async () => {
    const { id } = await provider.create({ template: "base" });
    const sbx = await instanceOf(id);
    const names = Array.from({ length: 40 }, (_, i) => `dir/file-${i}.txt`);
    await provider.importTar(id, makeTar(names.map((name) => ({ name, content: name }))));
    sbx.files.write.mockClear();
    sbx.commands.run.mockClear();
    const out = await readTar(await provider.exportTar(id, names));
    expect(out.size).toBe(40);
    expect(out.get("dir/file-7.txt")?.content).toBe("dir/file-7.txt");
    expect(sbx.files.write).toHaveBeenCalledTimes(1);
    expect(sbx.files.write.mock.calls[0]![1]).toBe(names.join("\0"));
    expect(sbx.commands.run).toHaveBeenCalledTimes(1);
    expect(sbx.commands.run.mock.calls[0]![0]).toContain("tar -c");
    expect(sbx.files.read).toHaveBeenCalledTimes(1);
    expect(sbx.files.read.mock.calls[0]![1]).toEqual({ format: "stream", requestTimeoutMs: 600_000 });
    expect(sbx.commands.run.mock.calls[0]![1]).toEqual({ timeoutMs: 600_000, requestTimeoutMs: 600_000 });
    await provider.kill(id);
  });

  it("imports many files with ONE upload of the archive and one tar -x (never a write per file)", async () => {
    const { id } = await provider.create({ template: "base" });
    const sbx = await instanceOf(id);
    sbx.files.write.mockClear();
    await provider.importTar(id, makeTar(Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.txt`, content: String(i) }))));
    expect(sbx.files.write).toHaveBeenCalledTimes(1);
    expect(sbx.files.write.mock.calls[0]![0]).toMatch(/^\/tmp\/torpor-import\.tar-/);
    expect(sbx.commands.run.mock.calls.some(([cmd]) => cmd.startsWith("tar -x"))).toBe(true);
    expect((await provider.scan(id)).length).toBe(60);
    sbx.files.write.mockClear();
    const hashes = await provider.hashFiles(id, ["f1.txt", "f2.txt", "nope.txt"]);
    expect(Object.keys(hashes).sort()).toEqual(["f1.txt", "f2.txt"]);
    expect(sbx.files.write).toHaveBeenCalledTimes(1); // the path list
    await provider.kill(id);
  });
});

describe("e2b adapter: SDK errors become typed errors", () => {
  const cases: [string, Error, string, boolean | undefined][] = [
    ["SandboxNotFoundError", new SandboxNotFoundError("sandbox x not found"), "SANDBOX_GONE", undefined],
    ["NotFoundError (paused too long, killed)", new NotFoundError("paused sandbox x not found"), "SANDBOX_GONE", undefined],
    ["TimeoutError", new TimeoutError("[deadline_exceeded]"), "TIMEOUT", true],
    ["RateLimitError", new RateLimitError("slow down"), "PROVIDER", true],
    ["AuthenticationError", new AuthenticationError("bad key"), "PROVIDER", false],
    ["any other error", new Error("fetch failed"), "PROVIDER", false],
  ];
  for (const [label, sdkError, code, retriable] of cases) {
    it(`${label} → ${code}`, async () => {
      FakeSandbox.connect.mockRejectedValueOnce(sdkError);
      const error = await provider.connect("someid").catch((e: unknown) => e);
      expect(isTorporError(error, code as never)).toBe(true);
      if (retriable !== undefined) expect((error as { retriable: boolean }).retriable).toBe(retriable);
      expect((error as Error).cause).toBe(sdkError);
    });
  }

  it("status of a sandbox E2B no longer has is 'gone'; create failures are PROVIDER errors", async () => {
    expect(await provider.status("long-gone")).toBe("gone");
    FakeSandbox.create.mockRejectedValueOnce(new AuthenticationError("Invalid API key"));
    await expectCode(provider.create({ template: "base" }), "PROVIDER");
  });
});
