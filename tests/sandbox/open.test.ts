/** openSandboxProvider picks the adapter the configuration names. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config";
import { openSandboxProvider } from "../../src/sandbox";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-open-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("openSandboxProvider", () => {
  it("opens the local provider by default, with sandboxes under <data dir>/sandboxes", async () => {
    const config = loadConfig({ TORPOR_DATA_DIR: dir, TORPOR_BWRAP: "required" });
    const provider = openSandboxProvider(config.sandbox);
    expect(provider.kind).toBe("local");
    const info = await provider.create({ template: "base" });
    try {
      expect(info.isolated).toBe(true);
      expect((await provider.scan(info.id)).length).toBe(0);
      expect(info.id).toMatch(/^sbx_[0-9a-z]{29}$/);
    } finally {
      await provider.kill(info.id);
    }
  });

  it("opens the E2B provider when E2B is configured (no request is made until used)", () => {
    const config = loadConfig({ TORPOR_DATA_DIR: dir, E2B_API_KEY: "e2b_x" });
    const provider = openSandboxProvider(config.sandbox);
    expect(provider.kind).toBe("e2b");
    expect(provider.supportsPause).toBe(true);
  });
});
