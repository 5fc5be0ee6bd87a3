/**
 * The dashboard in real Chromium against `next start` (the start command's process): the runs
 * page with its filters and a run's waterfall, the overview's charts drawn from data, how many
 * API requests each page makes per poll interval, the session timeline and settings, the
 * checkpoint browser (a file downloaded, a diff against the parent), restore behind a
 * confirmation that shows its diff, what keeps a session awake and how long a change has been
 * unsaved (until a snapshot; on the session page and in the sessions list), and a screenshot of
 * every page at 1440 px into docs/screenshots/ (committed, named in the README).
 *
 * Runs come from real workflows (a hibernate, a resume through the typed client's waitReady) plus
 * a few written into the app's SQLite file beside it (another process may open it: WAL): an
 * aborted hibernate, a failed resume with a retried step, runs days old for the time filter and
 * the per-day chart.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTorporClient, waitReady, type TorporClient } from "../../src/client";
import { signToken } from "../../src/server/auth";
import { openSqliteStore } from "../../src/store/sqlite";
import type { StateStore } from "../../src/store/types";
import { ensureBuilt, startApp, waitFor, type RunningApp } from "../helpers/app";

const SHOTS = path.resolve("docs/screenshots");
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const DAY = 86_400_000;

let dataDir: string;
let app: RunningApp | undefined;
let browser: Browser | undefined;
let page: Page;
let alice: TorporClient;
let store: StateStore | undefined;
let a: string;
let b: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "torpor-dash-"));
  mkdirSync(SHOTS, { recursive: true });
  ensureBuilt();
  app = await startApp({ TORPOR_DATA_DIR: dataDir, TORPOR_ACTIVITY_COALESCE_MS: "0", TORPOR_BWRAP: "auto" });
  const secret = readFileSync(path.join(dataDir, "auth-secret"), "utf8").trim();
  alice = createTorporClient({ url: app.url, token: await signToken(secret, { userId: "alice", role: "user" }) });
  store = openSqliteStore({ file: path.join(dataDir, "torpor.sqlite") });

  a = (await alice.sessions.create.mutate({})).id;
  b = (await alice.sessions.create.mutate({})).id;
  await alice.files.write.mutate({ sessionId: a, path: "notes.md", content: "# notes\n" });
  // A real hibernate, then the host-app way back: waitReady wakes it and resolves when it runs.
  await alice.sessions.hibernateNow.mutate({ sessionId: a });
  await waitFor("paused", () => alice.sessions.get.query({ sessionId: a }), (s) => s.state === "paused" && s.lease === null, { timeoutMs: 60_000 });
  expect((await waitReady(alice, a, { timeoutMs: 60_000 })).state).toBe("running");
  // A second checkpoint of a with one file changed and one added: the browser's diff against its parent.
  await alice.files.write.mutate({ sessionId: a, path: "notes.md", content: "# notes\nsecond version\n" });
  await alice.files.write.mutate({ sessionId: a, path: "todo.txt", content: "write the tests\n" });
  await alice.checkpoints.create.mutate({ sessionId: a, label: "second" });
  await waitFor("a's second checkpoint", () => alice.sessions.get.query({ sessionId: a }), (s) => s.latestCheckpoint?.label === "second" && s.lease === null, { timeoutMs: 60_000 });
  await alice.sessions.hibernateNow.mutate({ sessionId: b });
  await waitFor("b paused", () => alice.sessions.get.query({ sessionId: b }), (s) => s.state === "paused" && s.lease === null, { timeoutMs: 60_000 });

  const now = Date.now();
  const step = (name: string, at: number, ms: number, extra: Partial<{ attempts: number; error: string; status: "completed" | "failed" }> = {}) => ({
    name, status: extra.status ?? ("completed" as const), attempts: extra.attempts ?? 1, startedAt: at, endedAt: at + ms, error: extra.error ?? null, output: null,
  });
  const seed = async (key: string, workflow: string, sessionId: string, at: number, steps: ReturnType<typeof step>[], outcome: { status: "completed" | "failed"; result: object; error?: string }) => {
    const run = await store!.createRun({ workflow, sessionId, input: { data: { sessionId } }, now: at });
    for (const s of steps) await store!.recordStep(run.id, s);
    await store!.finishRun(run.id, { status: outcome.status, result: outcome.result, error: outcome.error ?? null, now: steps.at(-1)!.endedAt! });
    ids[key] = run.id;
  };
  const t = now - 60_000;
  await seed("aborted", "hibernate-session", a, t, [step("Take the lease", t, 40), step("Flush pending changes and take a checkpoint", t + 40, 900), step("Check for activity", t + 940, 30)], {
    status: "completed", result: { status: "aborted", reason: "activity during hibernation: the user typed" },
  });
  await seed("failed", "resume-session", b, t + 5000, [step("Take the lease", t + 5000, 30), step("Connect to the sandbox", t + 5030, 2400, { attempts: 3, status: "failed", error: "PROVIDER: the sandbox did not answer" })], {
    status: "failed", result: {}, error: "PROVIDER: the sandbox did not answer",
  });
  // Old sleep: a pause 3 days ago and its resume 2 days ago (the per-day chart), outside "last 24h".
  await seed("old-pause", "hibernate-session", b, now - 3 * DAY, [step("Pause", now - 3 * DAY, 1200)], { status: "completed", result: { status: "paused", reason: "idle" } });
  await seed("old-resume", "resume-session", b, now - 2 * DAY, [step("Connect", now - 2 * DAY, 3500)], { status: "completed", result: { rung: "connected", why: "ping" } });

  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_FLAGS });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${app.url}/?token=${app.token}`);
  await page.locator(`tr[data-session="${a}"]`).waitFor();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await app?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const rows = () => page.locator('[data-testid="runs-table"] tbody tr');
const rowIds = async () => rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-run")));
/** Waits until the table shows exactly what `accept` wants (the filter's query has answered). */
const tableWhere = (what: string, accept: (ids: (string | null)[]) => boolean) => waitFor(what, rowIds, accept, { timeoutMs: 15_000, everyMs: 100 });

/** API requests the page makes in `ms` (after `settleMs`, so the first load is not counted). */
async function countRequests(ms: number, settleMs = 1500): Promise<number> {
  await page.waitForTimeout(settleMs);
  let n = 0;
  const onRequest = (r: { url(): string }) => void (r.url().includes("/api/trpc/") && n++);
  page.on("request", onRequest);
  await page.waitForTimeout(ms);
  page.off("request", onRequest);
  return n;
}

describe("the dashboard in Chromium", () => {
  it("the runs page filters by workflow, status, session and time, labels outcomes, and draws a run's waterfall", async () => {
    await page.goto(`${app!.url}/runs`);
    await rows().first().waitFor();
    const all = await tableWhere("every run", (r) => r.includes(ids.aborted!) && r.includes(ids["old-pause"]!));
    expect(all.length).toBeGreaterThanOrEqual(6);
    await expect(page.locator(`tr[data-run="${ids.aborted}"] .outcome`).textContent()).resolves.toBe("aborted: activity won");
    await expect(page.locator(`tr[data-run="${ids.failed}"]`).getAttribute("data-outcome")).resolves.toBe("failed");

    await page.getByLabel("Filter by workflow").selectOption("hibernate-session");
    await tableWhere("hibernate runs only", (r) => r.includes(ids.aborted!) && !r.includes(ids.failed!));
    const workflows = await rows().locator("td:first-child").allTextContents();
    expect(new Set(workflows)).toEqual(new Set(["hibernate-session"]));
    expect(page.url()).toContain("workflow=hibernate-session");

    await page.getByLabel("Filter by workflow").selectOption("");
    await page.getByLabel("Filter by status").selectOption("failed");
    await tableWhere("the failed run only", (r) => r.length === 1 && r[0] === ids.failed);

    await page.getByLabel("Filter by status").selectOption("");
    await page.getByLabel("Filter by session").fill(b);
    const ofB = await tableWhere("b's runs", (r) => r.includes(ids.failed!) && !r.includes(ids.aborted!));
    expect(ofB).toContain(ids["old-resume"]);

    await page.getByLabel("Filter by time").selectOption("24h");
    await tableWhere("b's runs of the last day", (r) => r.includes(ids.failed!) && !r.includes(ids["old-resume"]!) && !r.includes(ids["old-pause"]!));

    // On its workflow cell: the row's centre may be the session column's link, which opens the session.
    await page.locator(`tr[data-run="${ids.failed}"] td`).first().click();
    const detail = page.locator(`[data-testid="run-detail"][data-run="${ids.failed}"]`);
    await detail.waitFor();
    const steps = detail.locator('[data-testid="waterfall"] li');
    expect(await steps.count()).toBe(2);
    await expect(steps.nth(1).getAttribute("data-status")).resolves.toBe("failed");
    await expect(steps.nth(1).textContent()).resolves.toMatch(/Connect to the sandbox.*3×.*the sandbox did not answer/);
    // The failed step's bar starts after the first one and is most of the run.
    const width = await steps.nth(1).locator(".span").evaluate((el) => parseFloat((el as HTMLElement).style.width));
    expect(width).toBeGreaterThan(90);
    expect(page.url()).toContain(`run=${ids.failed}`);
    await shot("runs");

    // The page polls list + run as one batched request per 3 s interval.
    const n = await countRequests(9000);
    console.log(`runs page: ${n} API requests in 9 s (poll interval 3 s)`);
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(9 / 3 + 1); // one per interval, plus one at the window's edge
  });

  it("the overview draws its charts from the data", async () => {
    await page.goto(`${app!.url}/overview`);
    await page.locator('[data-testid="chart-fleet"] .recharts-bar-rectangle').first().waitFor();
    // Fleet: running (a) and paused (b), one bar each with a height.
    const fleetBars = page.locator('[data-testid="chart-fleet"] .recharts-bar-rectangle path');
    expect(await fleetBars.count()).toBeGreaterThanOrEqual(2);
    // Saved per day: the old sleep (3 days ago -> 2 days ago) gives bars on two or three days.
    const savedBars = await page.locator('[data-testid="chart-saved"] .recharts-bar-rectangle path').count();
    expect(savedBars).toBeGreaterThanOrEqual(2);
    // Latency: the real hibernate/resume and the old ones (the aborted one is not a pause).
    const latencyBars = await page.locator('[data-testid="chart-latency"] .recharts-bar-rectangle path').count();
    expect(latencyBars).toBeGreaterThanOrEqual(2);
    await expect(page.locator('[data-testid="chart-saved"] .recharts-cartesian-axis-tick').count()).resolves.toBeGreaterThanOrEqual(7);
    await shot("overview");

    const n = await countRequests(9000);
    console.log(`overview: ${n} API requests in 9 s (poll interval 3 s)`);
    expect(n).toBeGreaterThanOrEqual(2);
    expect(n).toBeLessThanOrEqual(9 / 3 + 1);
  });

  it("the sessions page and a session's page make at most one request per 1.5 s interval", async () => {
    await page.goto(`${app!.url}/`);
    await page.locator(`tr[data-session="${b}"]`).waitFor();
    await shot("sessions");
    const sessions = await countRequests(6000);
    console.log(`sessions page: ${sessions} API requests in 6 s (poll interval 1.5 s)`);
    expect(sessions).toBeGreaterThanOrEqual(3);
    expect(sessions).toBeLessThanOrEqual(6 / 1.5 + 1);

    await page.goto(`${app!.url}/sessions/${a}`);
    await page.locator('[data-testid="checkpoints"] li').first().waitFor();
    await shot("session");
    const detail = await countRequests(6000);
    console.log(`session page (5 reads): ${detail} API requests in 6 s (poll interval 1.5 s)`);
    expect(detail).toBeGreaterThanOrEqual(3);
    expect(detail).toBeLessThanOrEqual(6 / 1.5 + 1);

    await page.goto(`${app!.url}/sessions/${a}/files`);
    await page.getByRole("button", { name: "notes.md" }).waitFor();
    await shot("files");
  });

  it("the session page draws the timeline, shows when a paused session archives, and saves its settings", async () => {
    const saved0 = await alice.sessions.get.query({ sessionId: a });
    expect(saved0.hooks).toMatchObject({ beforeCheckpoint: [], afterResume: [] });
    await page.goto(`${app!.url}/sessions/${a}`);
    const timeline = page.locator('[data-testid="session-timeline"]');
    await timeline.waitFor();
    // a: awake, asleep (the real hibernate), awake again (waitReady's resume).
    const periods = await timeline.locator("rect[data-period]").evaluateAll((rs) => rs.map((r) => r.getAttribute("data-period")));
    expect(periods).toEqual(["awake", "asleep", "awake"]);
    expect(await timeline.locator("g[data-checkpoint]").count()).toBeGreaterThanOrEqual(2);
    await expect(timeline.locator(`rect[data-run="${ids.aborted}"]`).getAttribute("data-outcome")).resolves.toBe("aborted");
    const kinds = await page.locator('[data-testid="transitions"] li').evaluateAll((ls) => ls.map((l) => l.getAttribute("data-kind")));
    expect(kinds).toEqual(["wake", "sleep"]);
    // The period bars have widths on the axis (drawn, not just present).
    const widths = await timeline.locator("rect[data-period]").evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("width"))));
    expect(widths.every((w) => w >= 1)).toBe(true);

    await page.getByLabel("Idle timeout (seconds)").fill("600");
    await page.getByLabel("Keep last checkpoints").fill("7");
    // Hooks: the form shows the deployment's time limit; an empty command is refused by the form.
    const after = page.locator('[data-testid="hooks-after-resume"]');
    await expect(after.locator("legend").textContent()).resolves.toContain(`${Math.round(saved0.hookTimeoutMs / 1000)} s each`);
    await page.getByRole("button", { name: "Add after resume command" }).click();
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator('[data-testid="settings-status"]', { hasText: "After resume: command 1 is empty" }).waitFor();
    await page.getByLabel("After resume command 1", { exact: true }).fill("echo resumed >> resumed.log");
    await page.getByRole("button", { name: "Add after resume command" }).click();
    await page.getByLabel("After resume command 2", { exact: true }).fill("npm run dev");
    await page.getByRole("button", { name: "Add before checkpoint command" }).click();
    await page.getByLabel("Before checkpoint command 1", { exact: true }).fill("git add -A");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator('[data-testid="settings-status"]', { hasText: "Saved." }).waitFor();
    const saved = await alice.sessions.get.query({ sessionId: a });
    expect(saved.idleTimeoutMs).toBe(600_000);
    expect(saved.retention.keepLast).toBe(7);
    expect(saved.hooks).toMatchObject({ beforeCheckpoint: ["git add -A"], afterResume: ["echo resumed >> resumed.log", "npm run dev"] });
    // Edit one command and remove another: saved as shown.
    await page.getByLabel("After resume command 1", { exact: true }).fill("echo back");
    await page.getByRole("button", { name: "Remove after resume command 2" }).click();
    await page.getByRole("button", { name: "Save settings" }).click();
    await waitFor("the edited hooks saved", () => alice.sessions.get.query({ sessionId: a }), (s) => s.hooks.afterResume.join("|") === "echo back", { timeoutMs: 15_000 });
    await shot("session-timeline");

    await page.goto(`${app!.url}/sessions/${b}`);
    await expect(page.locator('[data-testid="archive"]').textContent({ timeout: 15_000 })).resolves.toMatch(/^in \d.*TORPOR_ARCHIVE_AFTER_MS/);
  });

  it("the checkpoint browser lists a checkpoint's files, downloads one and shows the diff against its parent", async () => {
    await page.goto(`${app!.url}/sessions/${a}`);
    const newest = page.locator('[data-testid="checkpoints"] li').first();
    await newest.waitFor();
    await newest.getByRole("button", { name: "Browse files" }).click();
    const browser = page.locator('[data-testid="checkpoint-browser"]');
    await browser.locator('[data-testid="checkpoint-files"] li[data-path="todo.txt"]').waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), browser.getByRole("button", { name: "Download notes.md" }).click()]);
    expect(download.suggestedFilename()).toBe("notes.md");
    expect(readFileSync((await download.path())!, "utf8")).toBe("# notes\nsecond version\n");
    const diff = browser.locator('[data-testid="diff"]');
    await expect(diff.locator('[data-kind="added"] li').allTextContents()).resolves.toEqual(["+ todo.txt"]);
    await expect(diff.locator('[data-kind="changed"] li').allTextContents()).resolves.toEqual(["~ notes.md"]);
    await browser.getByRole("button", { name: "notes.md", exact: true }).click();
    await expect(browser.locator('[data-testid="preview"] pre').textContent()).resolves.toBe("# notes\nsecond version\n");
    await shot("checkpoint-browser");
  });

  it("restore asks for confirmation, showing what it would change, and restores only when confirmed", async () => {
    await page.goto(`${app!.url}/sessions/${a}`);
    const older = page.locator('[data-testid="checkpoints"] li').nth(1);
    await older.waitFor();
    const restores = async () => (await alice.runs.list.query({ sessionId: a })).filter((r) => r.workflow === "restore-session").length;
    expect(await restores()).toBe(0);

    await older.getByRole("button", { name: "Restore to this…" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm restore" });
    await dialog.locator('[data-testid="diff"]').waitFor();
    // Against the running sandbox's files: the restore would revert notes.md; todo.txt is not in that checkpoint.
    await expect(dialog.locator('[data-kind="changed"] li').allTextContents()).resolves.toContain("~ notes.md");
    await expect(dialog.locator('[data-kind="deleted"] li').allTextContents()).resolves.toContain("− todo.txt");
    await shot("restore-confirm");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await restores()).toBe(0);

    await older.getByRole("button", { name: "Restore to this…" }).click();
    await dialog.locator('[data-testid="diff"]').waitFor();
    await dialog.getByRole("button", { name: "Restore" }).click();
    await page.locator('[data-testid="action-progress"][data-status="completed"]').waitFor({ timeout: 90_000 });
    expect(await restores()).toBe(1);
    expect((await waitReady(alice, a, { timeoutMs: 60_000, wake: false })).state).toBe("running");
    expect((await alice.files.read.query({ sessionId: a, path: "notes.md" })).content).toBe("# notes\n");
  });

  it("the session page and the sessions list say how long a change has been unsaved, until a snapshot saves it; the page says what keeps it awake", async () => {
    // A session of its own: the tests above fix a's checkpoints and their order.
    const c = (await alice.sessions.create.mutate({})).id;
    expect((await waitReady(alice, c, { timeoutMs: 60_000, wake: false })).state).toBe("running");
    // The change feed starts watching a new session at its next sync (every 2 s). A files.write
    // before then gets no row of the feed's (the watch's first probe skips paths already pending),
    // and the wait for that row below would never end: wait until a file written as a sandbox
    // process would (in the workspace folder on this host) comes back as a change row.
    const workspace = path.join(dataDir, "sandboxes", (await alice.sessions.get.query({ sessionId: c })).sandboxId!, "workspace");
    let touches = 0;
    await waitFor("the change feed watching c", async () => {
      writeFileSync(path.join(workspace, "feed-ready.txt"), `${++touches}\n`);
      return alice.files.pendingChanges.query({ sessionId: c });
    }, (rows) => rows.some((r) => r.path === "feed-ready.txt"), { timeoutMs: 30_000, everyMs: 500 });
    await page.goto(`${app!.url}/sessions/${c}`);
    await alice.files.write.mutate({ sessionId: c, path: "unsaved.txt", content: "not in a checkpoint yet\n" });
    await page.locator('[data-testid="unsaved"]', { hasText: /^unsaved for \d/ }).waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="awake-reason"]', { hasText: /^\d+ files? changed \(by sandbox processes or files\.write\) in the last 5 min$/ }).waitFor({ timeout: 15_000 });
    // The sessions list shows it too, from the row's stored time (no read per row).
    const cell = page.locator(`tr[data-session="${c}"] [data-testid="unsaved-cell"]`);
    await page.goto(`${app!.url}/`);
    await cell.filter({ hasText: /^unsaved \d/ }).waitFor({ timeout: 15_000 });
    expect((await alice.sessions.list.query({ limit: 100 })).find((s) => s.id === c)!.unsavedSince).toEqual(expect.any(Number));

    // The change feed's own row for the same write arrives a window later, stamped with the write's
    // time; wait for it so that the snapshot below covers it (a row recorded after a snapshot's
    // commit would stay pending until the next flush).
    await waitFor("the change feed's row", () => alice.files.pendingChanges.query({ sessionId: c }), (rows) => rows.filter((r) => r.path === "unsaved.txt").length >= 2, { timeoutMs: 60_000 });
    await alice.checkpoints.create.mutate({ sessionId: c, label: "saved" });
    await waitFor("c's snapshot", () => alice.sessions.get.query({ sessionId: c }), (s) => s.latestCheckpoint?.label === "saved" && s.lease === null, { timeoutMs: 60_000 });
    await cell.filter({ hasText: /^–$/ }).waitFor({ timeout: 15_000 });
    await page.goto(`${app!.url}/sessions/${c}`);
    await page.locator('[data-testid="unsaved"]', { hasText: "every change is in a checkpoint" }).waitFor({ timeout: 15_000 });
    expect((await alice.sessions.get.query({ sessionId: c })).unsavedSince).toBeNull();
  });
});
