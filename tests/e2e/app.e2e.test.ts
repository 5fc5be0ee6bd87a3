/**
 * End to end, in a real browser: `npm start`'s script brings the whole system up (temp data dir,
 * short idle timeout, a sweep every second, a short archive delay); a user's editor writes files
 * through the API; the session auto-hibernates; the dashboard (headless Chromium) shows it paused,
 * then archived; "Resume" on the session page brings it back, the editor waits for it with the
 * typed client's waitReady, and every file reads back the same.
 * A second start on the same data dir finds the session and its checkpoints again.
 * Screenshots of every page go to test-output/e2e/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTorporClient, waitReady, type TorporClient } from "../../src/client";
import { signToken } from "../../src/server/auth";
import { ensureBuilt, startApp, waitFor, type RunningApp } from "../helpers/app";

const SHOTS = path.resolve("test-output/e2e");
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const FILES: Record<string, string> = {
  "README.md": "# my project\n",
  "src/index.ts": "export const answer = 42;\n",
  "src/lib/deep/nested.json": JSON.stringify({ a: [1, 2, 3] }),
  "bin/blob.bin": Buffer.from([0, 255, 1, 254, 2, 253]).toString("base64"),
};

let dataDir: string;
let app: RunningApp | undefined;
let browser: Browser | undefined;
let page: Page;
let editor: TorporClient;
let sessionId: string;
let presence: ReturnType<typeof setInterval> | undefined;

const env = () => ({
  TORPOR_DATA_DIR: dataDir,
  TORPOR_SWEEP_CRON: "* * * * * *",
  TORPOR_ARCHIVE_AFTER_MS: "6000",
  TORPOR_ACTIVITY_COALESCE_MS: "0",
  TORPOR_BWRAP: "auto",
});

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "torpor-e2e-"));
  // Only this run's screenshots: stale ones from an older page list would mislead a reviewer.
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  ensureBuilt();
  app = await startApp(env());
  // The secret the start command generated in the data dir: the host app would share it.
  const secret = readFileSync(path.join(dataDir, "auth-secret"), "utf8").trim();
  editor = createTorporClient({ url: app.url, token: await signToken(secret, { userId: "alice", role: "user" }) });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_FLAGS });
  page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
}, 900_000);

afterAll(async () => {
  clearInterval(presence);
  await browser?.close();
  await app?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const row = () => page.locator(`tr[data-session="${sessionId}"]`);

describe("the app end to end", () => {
  it("prints where the operator token is and how to open the dashboard, never the token itself", () => {
    expect(app!.output()).toMatch(new RegExp(`Operator token \\(until [^)]+\\) in \\S+operator-token: open ${app!.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/\\?token=\\$\\(cat `));
    expect(app!.token.length).toBeGreaterThan(20);
    expect(app!.output()).not.toContain(app!.token);
  });

  it("a session hibernates on its own, the dashboard shows paused then archived, Resume brings every file back", async () => {
    const session = await editor.sessions.create.mutate({ idleTimeoutMs: 2000 });
    sessionId = session.id;
    for (const [file, content] of Object.entries(FILES)) {
      await editor.files.write.mutate({ sessionId, path: file, content, encoding: file.endsWith(".bin") ? "base64" : "utf8" });
    }

    await page.goto(`${app!.url}/?token=${app!.token}`);
    await row().waitFor();
    expect(page.url()).not.toContain("token=");
    await expect(row().locator("td").nth(2).textContent()).resolves.toBe("alice");
    await shot("1-sessions-running");

    await page.locator(`tr[data-session="${sessionId}"][data-state="paused"]`).waitFor({ timeout: 60_000 });
    await shot("2-sessions-paused");
    await page.locator(`tr[data-session="${sessionId}"][data-state="archived"]`).waitFor({ timeout: 60_000 });
    await shot("3-sessions-archived");

    await row().locator("a").click();
    await page.waitForURL(`**/sessions/${sessionId}`);
    await page.locator('[data-testid="checkpoints"] li').first().waitFor();
    await expect(page.locator('[data-testid="reason"]').textContent()).resolves.toMatch(/idle|archive/);
    await shot("4-session-archived");

    await page.getByRole("button", { name: "Resume", exact: true }).click();
    // From here the editor is open again: it pings like usePresencePing does, which keeps the
    // resumed session (idle timeout 2 s) awake while the test reads the files back.
    presence = setInterval(() => void editor.activity.ping.mutate({ sessionId }).catch(() => {}), 250);
    await page.locator('[data-testid="action-progress"]').waitFor();
    await shot("5-session-resuming");
    // The host app waits for readiness through the typed client (sessions.waitReady's long poll),
    // not by polling the session's state; wake: false, since the dashboard's Resume already woke it.
    const ready = await waitReady(editor, sessionId, { timeoutMs: 90_000, wake: false });
    expect(ready.state).toBe("running");
    await page.locator('h1 .badge[data-state="running"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="action-progress"][data-status="completed"]').waitFor({ timeout: 60_000 });
    await shot("6-session-resumed");

    for (const [file, content] of Object.entries(FILES)) {
      const read = await editor.files.read.query({ sessionId, path: file, encoding: file.endsWith(".bin") ? "base64" : "utf8" });
      expect(read.content, file).toBe(content);
    }
  });

  it("the files page keeps the session awake with usePresencePing, and saves through the API", async () => {
    await page.getByRole("link", { name: "Files" }).click();
    await page.waitForURL(`**/sessions/${sessionId}/files`);
    // The page's own presence pings take over from the test's: from here only the hook keeps it awake.
    await page.locator('[data-testid="presence"]:not([data-pings="0"])').waitFor();
    clearInterval(presence);
    await page.getByRole("button", { name: "src/index.ts" }).click();
    await waitFor("the file in the editor", () => page.getByLabel("File content").inputValue(), (v) => v === FILES["src/index.ts"]);
    await page.getByLabel("File content").fill("export const answer = 43;\n");
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator('[data-testid="editor-status"]', { hasText: "Saved src/index.ts" }).waitFor();
    // Several idle timeouts (2 s each) pass while the page pings: the session stays running.
    const pings = async () => Number(await page.locator('[data-testid="presence"]').getAttribute("data-pings"));
    const before = await pings();
    const hibernations = async () => (await editor.runs.list.query({ sessionId })).filter((r) => r.workflow === "hibernate-session").length;
    const hibernationsBefore = await hibernations();
    await waitFor("eight more presence pings", pings, (n) => n >= before + 8, { timeoutMs: 60_000, everyMs: 250 });
    expect((await editor.sessions.get.query({ sessionId })).state).toBe("running");
    expect(await hibernations()).toBe(hibernationsBefore);
    expect((await editor.files.read.query({ sessionId, path: "src/index.ts" })).content).toBe("export const answer = 43;\n");
    expect((await editor.files.pendingChanges.query({ sessionId })).map((c) => c.path)).toContain("src/index.ts");
    await shot("7-files-editor");
  });

  it("the overview counts the session and its latencies", async () => {
    await page.goto(`${app!.url}/overview`);
    await page.locator('[data-testid="states"] li').first().waitFor();
    await expect(page.locator("main").textContent()).resolves.toContain("Saved by hibernation");
    await shot("8-overview");
  });

  it("a second start on the same data dir finds the session and its checkpoints", async () => {
    // Nothing pings any more: the session hibernates (a checkpoint of the saved edit), then is
    // archived. Archived is a resting state, so the checkpoints listed now are all there will be.
    await waitFor("archived again", () => editor.sessions.get.query({ sessionId }), (s) => s.state === "archived" && s.lease === null, { timeoutMs: 90_000 });
    const before = await editor.checkpoints.list.query({ sessionId });
    expect(await app!.stop()).toBe(0);
    app = await startApp(env());
    const secret = readFileSync(path.join(dataDir, "auth-secret"), "utf8").trim();
    const again = createTorporClient({ url: app.url, token: await signToken(secret, { userId: "alice", role: "user" }) });
    expect((await again.sessions.list.query()).map((s) => s.id)).toContain(sessionId);
    expect((await again.checkpoints.list.query({ sessionId })).map((c) => c.id)).toEqual(before.map((c) => c.id));
    expect(before.filter((c) => c.status === "committed").length).toBeGreaterThanOrEqual(2);
    // A new port is a new origin for localStorage: the link carries the token again.
    await page.goto(`${app.url}/sessions/${sessionId}?token=${app.token}`);
    await page.locator('[data-testid="checkpoints"] li').first().waitFor();
    await shot("9-session-after-restart");
  });

  it("the files page of an archived session asks before waking it, and wakes it when told", async () => {
    const secret = readFileSync(path.join(dataDir, "auth-secret"), "utf8").trim();
    const again = createTorporClient({ url: app!.url, token: await signToken(secret, { userId: "alice", role: "user" }) });
    expect((await again.sessions.get.query({ sessionId })).state).toBe("archived");
    const pings: string[] = [];
    const onRequest = (r: { url(): string }) => void (r.url().includes("activity.ping") && pings.push(r.url()));
    page.on("request", onRequest);
    await page.goto(`${app!.url}/sessions/${sessionId}/files`);
    await page.locator('[data-testid="wake-confirm"]').waitFor();
    // Three presence intervals (a third of the 2 s idle timeout each) pass without a ping.
    await page.waitForTimeout(2500);
    expect(pings).toEqual([]);
    expect((await again.sessions.get.query({ sessionId })).state).toBe("archived");
    await shot("10-files-archived-asks");
    await page.getByRole("button", { name: "Wake it and open the files" }).click();
    expect((await waitReady(again, sessionId, { timeoutMs: 90_000, wake: false })).state).toBe("running");
    page.off("request", onRequest);
    expect(pings.length).toBeGreaterThanOrEqual(1);
    await page.getByRole("button", { name: "src/index.ts" }).waitFor({ timeout: 30_000 });
  });
});
