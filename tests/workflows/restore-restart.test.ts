/**
 * A restore brings the sandbox back to life: after an archived resume and after a restore to a
 * checkpoint, the new sandbox runs the session's start command again (here a small HTTP server
 * kept in the workspace), then the after-resume hooks, in that order.
 *
 * The order is recorded by the processes themselves in order.log: the server appends "server"
 * once it listens; hook 1 waits for the server to answer, then appends "hook1"; hook 2 appends
 * "hook2". Hook 1 fails (and "hook1" is missing) if the server was not started before it. The
 * server's liveness is checked from inside the sandbox (exec), as a user's tool would.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession } from "../../src/server/create";
import type { TorporEvent } from "../../src/workflows/types";
import { requestId, runWorkflow, startWorkflowRuntime, type WorkflowRuntime } from "../helpers/runtime";

const SERVER = `const fs = require("fs");
require("http").createServer((req, res) => res.end("up")).listen(Number(process.argv[2]), "127.0.0.1", () => fs.appendFileSync("order.log", "server\\n"));
`;
const fetchScript = (port: number) => `fetch('http://127.0.0.1:${port}/', { signal: AbortSignal.timeout(3000) }).then((r) => r.text()).then((t) => { console.log(t); process.exit(t === 'up' ? 0 : 1) }, () => process.exit(1))`;
/** Waits up to 4 s for the server to answer (each attempt bounded: a port that accepts and never answers is not "up"). */
const waitForServer = (port: number) =>
  `node -e "const t = Date.now() + 4000; const go = () => fetch('http://127.0.0.1:${port}/', { signal: AbortSignal.timeout(1000) }).then(() => process.exit(0), () => Date.now() > t ? process.exit(1) : setTimeout(go, 50)); go()"`;

/**
 * A free port below the kernel's ephemeral range (32768-60999 here): the other test files, run in
 * parallel, bind port 0 and open connections all the time, and a port taken from that range can be
 * handed to one of them between this check and the sandbox server's listen, or after the first
 * sandbox's server is killed and before the new one listens.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

/**
 * Whether anything answers on the port, from the host (tests run with TORPOR_BWRAP=off: same
 * network). A connection that is accepted but never answered (a stopped process still holding the
 * port) counts as an answer, after 5 s, instead of hanging the test.
 */
async function answers(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) }).then(
    () => true,
    (error: unknown) => error instanceof DOMException && error.name === "TimeoutError",
  );
}

/** Each run here takes 1-3 s: one still going after 20 s fails with its steps instead of hanging. */
const RUN_LIMIT = { timeoutMs: 20_000 };

describe("a restore runs the start command again, then the after-resume hooks", () => {
  let rt: WorkflowRuntime;
  beforeAll(async () => {
    rt = await startWorkflowRuntime();
  });
  afterAll(async () => rt.close());

  /** A running session whose start command is the server in its workspace, with two after-resume hooks. */
  async function serverSession(port: number) {
    const { runtime } = rt;
    // Through the API's create: the start command writes the server's code, then runs it.
    const session = await createSession(
      { config: runtime.config, store: runtime.store, sandboxes: runtime.sandboxes, dispatcher: runtime.dispatcher },
      { ownerId: "alice", template: "base", idleTimeoutMs: 60_000, startCommand: `sh -c 'cat > server.js <<"EOF"\n${SERVER}EOF\nexec node server.js ${port}'`, now: Date.now() },
    );
    const hooks = { ...session.hooks, afterResume: [`${waitForServer(port)} && echo hook1 >> order.log`, "echo hook2 >> order.log"] };
    await runtime.store.updateSession(session.id, { hooks });
    const up = await runtime.sandboxes.exec(session.sandboxId!, `node -e "${fetchScript(port)}"`, { timeoutMs: 10_000 });
    expect(up, "the first sandbox's server").toMatchObject({ exitCode: 0, stdout: "up\n" });
    return session;
  }

  async function expectServerAndHooks(sessionId: string, oldSandboxId: string, port: number, result: { hooks: { ok: boolean }[] }) {
    const s = await rt.runtime.store.getSession(sessionId);
    expect(s.state).toBe("running");
    expect(s.sandboxId).not.toBe(oldSandboxId);
    expect(result.hooks.map((h) => h.ok)).toEqual([true, true]);
    const check = await rt.runtime.sandboxes.exec(s.sandboxId!, `node -e "${fetchScript(port)}"`, { timeoutMs: 10_000 });
    expect(check, "the server, checked from inside the new sandbox").toMatchObject({ exitCode: 0, stdout: "up\n" });
    // The first "server" line came with the checkpoint (the first sandbox's start); the new
    // sandbox's server wrote the second, before hook 1 ran, and hook 2 came last.
    const order = (await rt.runtime.sandboxes.readFile(s.sandboxId!, "order.log")).toString();
    expect(order).toBe("server\nserver\nhook1\nhook2\n");
  }

  it("archived, then resumed: the server runs again in the new sandbox, then the hooks run in order", async () => {
    const port = await freePort();
    const session = await serverSession(port);
    const send = (name: TorporEvent["name"]) => runWorkflow(rt, { name, data: { sessionId: session.id, reason: "test", requestId: requestId() } } as TorporEvent, RUN_LIMIT);
    expect((await send("torpor/session.hibernate.requested")).status).toBe("completed");
    expect((await send("torpor/session.archive.requested")).status).toBe("completed");
    expect(await rt.runtime.store.getSession(session.id)).toMatchObject({ state: "archived", sandboxId: null });
    expect(await answers(port), "the archived sandbox's server is gone").toBe(false);

    const resumed = await send("torpor/session.resume.requested");
    expect(resumed.status, resumed.error ?? "").toBe("completed");
    const result = JSON.parse(resumed.result!);
    expect(result).toMatchObject({ rung: "restored" });
    expect(resumed.steps.map((st) => st.name).filter((n) => /start command|hook/.test(n))).toEqual([
      "Start the session's start command",
      "Run after-resume hook 1",
      "Run after-resume hook 2",
    ]);
    await expectServerAndHooks(session.id, session.sandboxId!, port, result);
  });

  it("restored to a checkpoint: the old sandbox's server is removed, the new one's runs, then the hooks", async () => {
    const port = await freePort();
    const session = await serverSession(port);
    const snap = await runWorkflow(rt, { name: "torpor/session.snapshot.requested", data: { sessionId: session.id, label: null, requestId: requestId() } }, RUN_LIMIT);
    const checkpointId = JSON.parse(snap.result!).checkpointId as string;
    const restored = await runWorkflow(rt, { name: "torpor/session.restore.requested", data: { sessionId: session.id, checkpointId, requestId: requestId() } }, RUN_LIMIT);
    expect(restored.status, restored.error ?? "").toBe("completed");
    expect(await rt.runtime.sandboxes.status(session.sandboxId!)).toBe("gone");
    await expectServerAndHooks(session.id, session.sandboxId!, port, JSON.parse(restored.result!));
  });
});
