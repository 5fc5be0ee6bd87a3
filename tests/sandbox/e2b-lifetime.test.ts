/**
 * E2B lifetimes against the double (./fake-e2b, simulated time): what E2B does to a sandbox when
 * its timeout or the tier's runtime cap is reached, and what the adapter makes of it.
 */
import { SandboxNotFoundError, TimeoutError, Sandbox } from "e2b";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig, sandboxLifetimeMs, sweepPeriodMs } from "../../src/core/config";
import { isTorporError } from "../../src/core/errors";
import type { Session } from "../../src/core/types";
import { createE2BProvider, type SandboxProvider } from "../../src/sandbox";
import { reapOrphanSandboxes } from "../../src/sandbox/e2b/reap";
import { cleanUpFakes, fakeState, fakeTier, fakeTimeouts, FakeSandbox, setFakeClock } from "./fake-e2b";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("./fake-e2b")).FakeSandbox,
}));

const MINUTE = 60_000;
let now = Date.parse("2027-01-04T10:00:00Z");
const advance = (ms: number) => (now += ms);
setFakeClock(() => now);
afterAll(async () => {
  setFakeClock(undefined);
  await cleanUpFakes();
});

const conn = { apiKey: "e2b_key" };
let provider: SandboxProvider;
beforeEach(() => {
  vi.clearAllMocks();
  fakeTier.maxRuntimeMs = 60 * MINUTE;
  provider = createE2BProvider({ ...conn, template: "base", startGraceMs: 500, lifetimeMs: 21 * MINUTE });
});

const timeoutsOf = (id: string) => fakeTimeouts.filter((t) => t.sandboxId === id);

describe("the double, as the SDK behaves", () => {
  it("kills a sandbox 5 minutes after create by default; a kept handle then gets TimeoutError, connect SandboxNotFoundError", async () => {
    const sbx = (await Sandbox.create("base", conn)) as unknown as FakeSandbox;
    await sbx.files.write("/workspace/a.txt", "a");
    advance(5 * MINUTE - 1000);
    expect(fakeState(sbx.sandboxId)).toBe("running");
    advance(1000);
    const error = await sbx.files.read("/workspace/a.txt").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain("likely due to sandbox timeout");
    await expect(Sandbox.connect(sbx.sandboxId, conn)).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(timeoutsOf(sbx.sandboxId)).toEqual([{ sandboxId: sbx.sandboxId, at: now, action: "kill", cause: "timeout" }]);
  });

  it("connect resets the deadline (never shortens a running one), setTimeout moves it, the Hobby cap refuses longer timeouts", async () => {
    const sbx = await Sandbox.create("base", { ...conn, timeoutMs: 10 * MINUTE });
    advance(4 * MINUTE);
    await Sandbox.connect(sbx.sandboxId, conn); // 5 min from now is earlier than the 6 min left: kept
    advance(5 * MINUTE + 30_000);
    expect(fakeState(sbx.sandboxId)).toBe("running");
    await Sandbox.setTimeout(sbx.sandboxId, 2 * MINUTE, conn);
    advance(2 * MINUTE);
    expect(fakeState(sbx.sandboxId)).toBe("killed");
    await expect(Sandbox.create("base", { ...conn, timeoutMs: 2 * 60 * MINUTE })).rejects.toThrow(/cannot be greater/);
  });
});

describe("e2b adapter: lifetime", () => {
  it("sandboxLifetimeMs covers the idle deadline, a sweep period and the hibernate budget", () => {
    const config = loadConfig({ TORPOR_IDLE_TIMEOUT_MS: "600000", TORPOR_SWEEP_CRON: "*/5 * * * *", TORPOR_HIBERNATE_BUDGET_MS: "120000" });
    expect(sweepPeriodMs("* * * * *")).toBe(MINUTE);
    expect(sweepPeriodMs("*/10 * * * * *")).toBe(10_000);
    expect(sandboxLifetimeMs(config.lifecycle)).toBe(10 * MINUTE + 5 * MINUTE + 2 * MINUTE);
    expect(sandboxLifetimeMs(config.lifecycle, 30 * MINUTE)).toBe(37 * MINUTE);
  });

  it("creates with the lifetime and onTimeout pause; activity every minute for 30 minutes: E2B never ends it", async () => {
    const { id } = await provider.create({ template: "base" });
    expect(FakeSandbox.create).toHaveBeenCalledWith("base", expect.objectContaining({ timeoutMs: 21 * MINUTE, lifecycle: { onTimeout: "pause", autoResume: false } }));
    await provider.writeFile(id, "work.txt", "v0");
    for (let minute = 1; minute <= 30; minute++) {
      advance(MINUTE);
      await provider.extendLifetime!(id, 21 * MINUTE);
      await provider.writeFile(id, "work.txt", `v${minute}`);
    }
    expect(timeoutsOf(id)).toEqual([]);
    expect(await provider.status(id)).toBe("running");
    expect((await provider.readFile(id, "work.txt")).toString()).toBe("v30");
    await provider.kill(id);
  });

  it("without the extension the same sandbox is paused by E2B (not killed) and the next call resumes it with its files", async () => {
    const { id } = await provider.create({ template: "base" });
    await provider.writeFile(id, "unsaved.txt", "not in any checkpoint");
    advance(21 * MINUTE);
    expect(await provider.status(id)).toBe("paused");
    expect(timeoutsOf(id)).toEqual([expect.objectContaining({ action: "pause", cause: "timeout" })]);
    // The kept handle meets E2B's TimeoutError; the adapter sees a paused sandbox and resumes it.
    expect((await provider.readFile(id, "unsaved.txt")).toString()).toBe("not in any checkpoint");
    expect(FakeSandbox.connect).toHaveBeenLastCalledWith(id, { ...conn, timeoutMs: 21 * MINUTE });
    expect(await provider.status(id)).toBe("running");
    await provider.kill(id);
  });

  it("a call through a kept handle whose sandbox E2B killed is SANDBOX_GONE, not a retriable TIMEOUT", async () => {
    const killing = createE2BProvider({ ...conn, template: "base", startGraceMs: 500, lifetimeMs: 5 * MINUTE, onTimeout: "kill" });
    const { id } = await killing.create({ template: "base" });
    await killing.writeFile(id, "a.txt", "a");
    advance(5 * MINUTE);
    for (const call of [() => killing.readFile(id, "a.txt"), () => killing.scan(id), () => killing.exec(id, "true")]) {
      const error = await call().catch((e: unknown) => e);
      expect(isTorporError(error, "SANDBOX_GONE"), String(error)).toBe(true);
    }
    expect(await killing.status(id)).toBe("gone");
    const extend = await killing.extendLifetime!(id, MINUTE).catch((e: unknown) => e);
    expect(isTorporError(extend, "SANDBOX_GONE")).toBe(true);
  });

  it("the tier's cap: timeouts are clamped to it; at the cap E2B pauses even an active sandbox, and activity resumes it", async () => {
    const long = createE2BProvider({ ...conn, template: "base", startGraceMs: 500, lifetimeMs: 3 * 60 * MINUTE });
    const { id } = await long.create({ template: "base" }); // 3 h asked, 1 h on Hobby: no refusal
    expect(FakeSandbox.create).toHaveBeenLastCalledWith("base", expect.objectContaining({ timeoutMs: 60 * MINUTE }));
    await long.writeFile(id, "a.txt", "a");
    for (let minute = 1; minute < 60; minute++) {
      advance(MINUTE);
      await long.extendLifetime!(id, 21 * MINUTE);
    }
    advance(MINUTE);
    expect(await long.status(id)).toBe("paused");
    expect(timeoutsOf(id)).toEqual([expect.objectContaining({ action: "pause", cause: "runtime cap" })]);
    await long.extendLifetime!(id, 21 * MINUTE); // setTimeout 404s on the paused sandbox: resumed
    expect(await long.status(id)).toBe("running");
    expect((await long.readFile(id, "a.txt")).toString()).toBe("a");
    await long.kill(id);
  });
});

describe("reaping sandboxes no session points at", () => {
  const session = (over: Partial<Session>): Session => ({ id: "ses_x", sandboxId: null, lease: null, state: "running", ...over }) as Session;

  it("kills tagged sandboxes of missing, deleted or re-pointed sessions; keeps pointed-at, leased, young and untagged ones", async () => {
    const make = (metadata: Record<string, string>) => provider.create({ template: "base", metadata }).then((i) => i.id);
    const pointed = await make({ torporSessionId: "ses_a" });
    const orphan = await make({ torporSession: "ses_a", torporRun: "run_1" });
    const missing = await make({ torporSessionId: "ses_gone" });
    const leased = await make({ torporSession: "ses_b", torporRun: "run_2" });
    const untagged = await make({});
    advance(10 * MINUTE);
    const young = await make({ torporSession: "ses_a", torporRun: "run_3" });
    await provider.pause(orphan); // paused orphans cost storage: reaped too
    const sessions: Record<string, Session> = {
      ses_a: session({ id: "ses_a", sandboxId: pointed }),
      ses_b: session({ id: "ses_b", sandboxId: "other", lease: { holder: "run_2", operation: "resume", expiresAt: now + MINUTE } as Session["lease"] }),
    };
    const result = await reapOrphanSandboxes(provider, async (id) => sessions[id] ?? null, { now, graceMs: 5 * MINUTE });
    expect(result.killed.map((k) => k.sandboxId).sort()).toEqual([missing, orphan].sort());
    expect(result.killed.find((k) => k.sandboxId === orphan)?.why).toContain(`points at ${pointed}`);
    for (const kept of [pointed, leased, untagged, young]) expect(fakeState(kept)).toBe("running");
    for (const gone of [missing, orphan]) expect(fakeState(gone)).toBe("killed");
  });
});
