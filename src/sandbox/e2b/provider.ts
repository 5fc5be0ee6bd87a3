/**
 * The E2B SandboxProvider, on the e2b SDK v2. The workspace is /workspace in the sandbox
 * (created at create time, owned by the template's default user).
 *
 * - pause → Sandbox.pause (memory and processes kept); connect → Sandbox.connect, which resumes a
 *   paused sandbox. File and command methods reuse a connected handle, or connect first — so on
 *   E2B they resume a paused sandbox (the local provider reads files of a paused one in place).
 * - Lifetime: E2B ends a sandbox `timeoutMs` after create and after each connect (its default is
 *   5 min, shorter than Torpor's idle timeout). Create and connect ask for `lifetimeMs` (idle
 *   deadline + sweep period + hibernate budget, from Config), clamped to the tier's runtime cap;
 *   extendLifetime (Sandbox.setTimeout) moves the deadline on recorded activity. The safety net
 *   is `lifecycle: { onTimeout: "pause" }`: a sandbox Torpor failed to hibernate in time is paused
 *   by E2B, not killed, and the next call resumes it (./handles) with nothing lost.
 * - Batched transfer: tar runs inside the sandbox and ONE archive moves (files.read as a stream,
 *   files.write of a stream); lists of paths go up as one NUL-separated file.
 * - Change feed: files.watchDir(recursive, no timeout), debounced.
 * - CPU: Sandbox.getMetrics over the window asked (./metrics), one API call, no agent needed.
 * - Modes: setuid, setgid and sticky bits are stripped (mode & 0o777), never refused, on every
 *   write (writeFile's chmod), import (./checked-tar re-encodes each entry) and scan (./scripts).
 * - Errors: see ./errors (not found → SANDBOX_GONE, timeouts → TIMEOUT, else PROVIDER).
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { CommandExitError, Sandbox } from "e2b";
import { isTorporError, SandboxError } from "../../core/errors";
import { shellQuote, workspacePath } from "../paths";
import type { CreateSandboxOptions, ExecResult, SandboxInfo, SandboxProvider, SandboxStatus } from "../types";
import { checkedTar, MODE_BITS } from "./checked-tar";
import { guard } from "./errors";
import { cpuWindowOf } from "./metrics";
import { createHandles } from "./handles";
import * as sh from "./scripts";
import { watchSandbox } from "./watch";

export interface E2BProviderOptions {
  apiKey: string;
  domain?: string;
  template: string;
  /** How long a start command must keep running for create() to succeed. Default 3000 ms (network round trips). */
  startGraceMs?: number;
  watchDebounceMs?: number;
  /** Limit for the adapter's own commands and archive transfers (the SDK's default is 60 s). Default 10 min. */
  transferTimeoutMs?: number;
  /** E2B's timeout for a created or resumed sandbox. Default 21 min (Config's defaults: 10 + 1 + 10). */
  lifetimeMs?: number;
  /** The tier's cap on continuous runtime; every timeout asked of E2B is clamped to it. Default 1 h (Hobby). */
  maxRuntimeMs?: number;
  /** What E2B does when the timeout is reached. Default "pause" (the safety net; E2B's own default is kill). */
  onTimeout?: "pause" | "kill";
}

type Info = Awaited<ReturnType<typeof Sandbox.getInfo>>;

export function createE2BProvider(options: E2BProviderOptions): SandboxProvider {
  const conn = { apiKey: options.apiKey, ...(options.domain ? { domain: options.domain } : {}) };
  const maxRuntimeMs = options.maxRuntimeMs ?? 60 * 60_000;
  const clamp = (ms: number) => Math.max(1000, Math.min(ms, maxRuntimeMs));
  const lifetimeMs = clamp(options.lifetimeMs ?? 21 * 60_000);
  const handles = createHandles(conn, () => lifetimeMs);
  const limit = options.transferTimeoutMs ?? 10 * 60_000;
  const long = { timeoutMs: limit, requestTimeoutMs: limit };

  const toInfo = (info: Info): SandboxInfo => ({
    id: info.sandboxId,
    provider: "e2b",
    template: info.name ?? info.templateId,
    status: info.state === "paused" ? "paused" : "running",
    isolated: true,
    startedAt: new Date(info.startedAt).getTime(),
    metadata: { ...(info.metadata ?? {}) },
  });

  const tmpName = (what: string): string => `/tmp/torpor-${what}-${randomBytes(6).toString("hex")}`;

  async function run(id: string, what: string, command: string, user?: string): Promise<string> {
    const result = await handles.call(id, what, (sbx) => sbx.commands.run(command, user ? { ...long, user } : long));
    return result.stdout;
  }

  async function uploadList(id: string, paths: string[]): Promise<string> {
    const file = tmpName("list");
    await handles.call(id, "upload path list", (sbx) => sbx.files.write(file, paths.join("\0"), { requestTimeoutMs: limit }));
    return file;
  }

  async function startCommand(sbx: Sandbox, command: string, env: Record<string, string> | undefined): Promise<void> {
    const handle = await guard("start command", sbx.sandboxId, () =>
      // timeoutMs 0: the SDK's default (60 s) would end a long-running server's stream.
      sbx.commands.run(command, { background: true, cwd: sh.absolute(""), envs: env ?? {}, timeoutMs: 0 }),
    );
    let timer: NodeJS.Timeout | undefined;
    const exited = handle.wait().then(
      (r) => ({ code: r.exitCode, output: r.stdout + r.stderr }),
      (e: unknown) => (e instanceof CommandExitError ? { code: e.exitCode, output: e.stdout + e.stderr } : { code: -1, output: String(e) }),
    );
    const outcome = await Promise.race([exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), options.startGraceMs ?? 3000)))]);
    clearTimeout(timer);
    if (outcome === null) return void (await handle.disconnect()); // it keeps running; we stop listening
    throw new SandboxError("PROVIDER", `The start command exited at once (code ${outcome.code}): ${command}\n${outcome.output.slice(-4096)}`, {
      details: { sandboxId: sbx.sandboxId, exitCode: outcome.code, output: outcome.output.slice(-4096) },
    });
  }

  const provider: SandboxProvider = {
    kind: "e2b",
    supportsPause: true,

    async create(opts: CreateSandboxOptions): Promise<SandboxInfo> {
      const sbx = await guard("create", undefined, () =>
        Sandbox.create(opts.template || options.template, {
          ...conn,
          ...(opts.env ? { envs: opts.env } : {}),
          timeoutMs: clamp(opts.timeoutMs ?? lifetimeMs),
          lifecycle: { onTimeout: options.onTimeout ?? "pause", autoResume: false },
          ...(opts.metadata ? { metadata: opts.metadata } : {}),
          ...(opts.network !== undefined ? { allowInternetAccess: opts.network } : {}),
        }),
      );
      handles.keep(sbx);
      try {
        await guard("prepare /workspace", sbx.sandboxId, () => sbx.commands.run(sh.PREPARE_WORKSPACE, { ...long, user: "root" }));
        if (opts.startCommand) await startCommand(sbx, opts.startCommand, opts.env);
        return toInfo(await guard("getInfo", sbx.sandboxId, () => sbx.getInfo()));
      } catch (error) {
        await provider.kill(sbx.sandboxId).catch(() => undefined);
        throw error;
      }
    },

    async connect(id) {
      const sbx = await handles.connect(id, lifetimeMs);
      return toInfo(await guard("getInfo", id, () => sbx.getInfo()));
    },

    async extendLifetime(id, ms) {
      const timeoutMs = clamp(ms);
      try {
        await guard("setTimeout", id, () => Sandbox.setTimeout(id, timeoutMs, conn));
      } catch (error) {
        // E2B answers 404 for a sandbox that is not running: gone, or paused on its timer while
        // the session is still in use (the tier's runtime cap). The latter is resumed.
        if (!isTorporError(error, "SANDBOX_GONE") || (await provider.status(id)) !== "paused") throw error;
        await handles.connect(id, timeoutMs);
      }
    },

    async pause(id) {
      handles.forget(id);
      await guard("pause", id, () => Sandbox.pause(id, conn));
    },

    async kill(id) {
      handles.forget(id);
      await guard("kill", id, () => Sandbox.kill(id, conn)); // false (not found) is fine: already gone
    },

    async cpuUsage(id, window) {
      const metrics = await guard("getMetrics", id, () =>
        Sandbox.getMetrics(id, { ...conn, start: new Date(window.from), end: new Date(window.to) }),
      );
      return cpuWindowOf(metrics);
    },

    async findSandboxes(metadata) {
      const found: SandboxInfo[] = [];
      const pages = Sandbox.list({ ...conn, query: { metadata, state: ["running", "paused"] } });
      while (pages.hasNext) for (const info of await guard("list", undefined, () => pages.nextItems())) found.push(toInfo(info));
      return found;
    },

    async status(id): Promise<SandboxStatus> {
      try {
        const info = await guard("getInfo", id, () => Sandbox.getInfo(id, conn));
        return info.state === "paused" ? "paused" : "running";
      } catch (error) {
        if (error instanceof SandboxError && error.code === "SANDBOX_GONE") return "gone";
        throw error;
      }
    },

    async exec(id, command, opts = {}): Promise<ExecResult> {
      const cwd = sh.absolute(workspacePath(opts.cwd ?? "", "cwd"));
      const runOpts = { cwd, envs: opts.env ?? {}, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) };
      if (opts.background) {
        const handle = await handles.call(id, "exec", (sbx) =>
          sbx.commands.run(command, { ...runOpts, background: true, timeoutMs: opts.timeoutMs ?? 0 }),
        );
        await handle.disconnect(); // the process stays; Torpor does not hold its output stream open
        return { exitCode: null, stdout: "", stderr: "" };
      }
      return handles.call(id, "exec", async (sbx): Promise<ExecResult> => {
        try {
          const r = await sbx.commands.run(command, runOpts);
          return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
        } catch (error) {
          if (error instanceof CommandExitError) return { exitCode: error.exitCode, stdout: error.stdout, stderr: error.stderr };
          throw error;
        }
      });
    },

    async scan(id, dir = "") {
      const rel = workspacePath(dir, "folder");
      return sh.parseScan(await run(id, "scan", sh.scanCommand(rel)), rel);
    },

    async hashFiles(id, paths) {
      const wanted = new Set(paths.map((p) => workspacePath(p)));
      if (wanted.size === 0) return {};
      const list = await uploadList(id, [...wanted]);
      return sh.parseHashes(await run(id, "hash files", sh.hashCommand(list)), wanted);
    },

    async exportTar(id, paths) {
      const names = [...new Set(paths.map((p) => workspacePath(p)))].filter((p) => p !== "");
      const archive = tmpName("export.tar");
      const command =
        names.length > 0 ? sh.exportCommand(await uploadList(id, names), archive) : `tar -c -f ${shellQuote(archive)} -T /dev/null`;
      await run(id, "tar export", command);
      return handles.call(id, "download archive", async (sbx) => {
        const web = await sbx.files.read(archive, { format: "stream", requestTimeoutMs: limit });
        const stream = Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>);
        stream.once("close", () => void sbx.files.remove(archive).catch(() => undefined));
        return stream;
      });
    },

    async importTar(id, tar) {
      const links = (await run(id, "list symlinks", sh.LIST_SYMLINKS)).split("\0").filter(Boolean);
      const { body, verdict } = checkedTar(tar, links);
      const archive = tmpName("import.tar");
      const sbx = await handles.get(id);
      const upload = guard("upload archive", id, () => sbx.files.write(archive, Readable.toWeb(body) as unknown as ReadableStream, { requestTimeoutMs: limit }));
      try {
        await verdict; // a refused archive is never extracted
        await upload;
      } catch (error) {
        await upload.catch(() => undefined);
        await sbx.files.remove(archive).catch(() => undefined);
        throw error;
      }
      await run(id, "tar import", sh.importCommand(archive));
    },

    async readFile(id, p) {
      const rel = workspacePath(p);
      const bytes = await handles.call(id, `read '${rel}'`, (sbx) => sbx.files.read(sh.absolute(rel), { format: "bytes" }));
      return Buffer.from(bytes);
    },

    async writeFile(id, p, content, mode) {
      const rel = workspacePath(p);
      if (rel === "") throw new SandboxError("UNSAFE_PATH", "Cannot write the workspace folder itself as a file");
      const data = typeof content === "string" ? content : new Uint8Array(content).buffer;
      await handles.call(id, `write '${rel}'`, (sbx) => sbx.files.write(sh.absolute(rel), data));
      if (mode !== undefined) await run(id, "chmod", `chmod ${(mode & MODE_BITS).toString(8)} ${shellQuote(sh.absolute(rel))}`);
    },

    async watch(id, onEvents) {
      return handles.call(id, "watch", (sbx) => watchSandbox(sbx, id, onEvents, options.watchDebounceMs ?? 200));
    },
  };
  return provider;
}
