/**
 * The provider contract against real E2B, plus a checkpoint moved from a local sandbox into an
 * E2B sandbox and back through the engine. Runs only when E2B_API_KEY is set (E2B_DOMAIN and
 * E2B_TEMPLATE are honoured); otherwise the whole file is skipped and says why.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCheckpointEngine } from "../../src/checkpoint/index";
import { loadConfig } from "../../src/core/config";
import { createE2BProvider, createLocalProvider, sandboxWorkspace, type SandboxProvider } from "../../src/sandbox";
import { startTestS3 } from "../helpers/s3";
import { providerContract } from "./contract";

const live = loadConfig({ E2B_API_KEY: process.env.E2B_API_KEY, E2B_DOMAIN: process.env.E2B_DOMAIN, E2B_TEMPLATE: process.env.E2B_TEMPLATE, TORPOR_DATA_DIR: tmpdir() }).sandbox;
const enabled = live.kind === "e2b";
if (!enabled) console.warn("[e2b.live.test] skipped: set E2B_API_KEY (and optionally E2B_DOMAIN, E2B_TEMPLATE) to run the E2B provider against real E2B");

const make = (): SandboxProvider => {
  if (live.kind !== "e2b") throw new Error("E2B_API_KEY is not set");
  return createE2BProvider({ apiKey: live.apiKey, domain: live.domain, template: live.template });
};

describe.skipIf(!enabled)("E2B live", () => {
  providerContract("e2b (live)", make, {
    template: live.kind === "e2b" ? live.template : "base",
    unknownId: "torpornosuchsandbox0",
    unknownIdCodes: ["SANDBOX_GONE"],
  });

  let root: string | undefined;
  const created: [SandboxProvider, string][] = [];
  afterAll(async () => {
    for (const [p, id] of created) await p.kill(id).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("a checkpoint of a local sandbox restores into an E2B sandbox, byte for byte", async () => {
    const s3 = await startTestS3();
    try {
      const engine = createCheckpointEngine({ objects: s3.objects });
      root = mkdtempSync(path.join(tmpdir(), "torpor-e2b-live-"));
      const local = createLocalProvider({ root, bubblewrap: "auto", log: () => undefined });
      const e2b = make();
      const a = (await local.create({ template: "base" })).id;
      created.push([local, a]);
      await local.writeFile(a, "src/app.js", "console.log('hi')\n");
      await local.writeFile(a, "run.sh", "#!/bin/sh\n", 0o755);
      await local.exec(a, "ln -s src/app.js entry");
      const snap = await engine.snapshot(sandboxWorkspace(local, a));
      const b = (await e2b.create({ template: live.kind === "e2b" ? live.template : "base" })).id;
      created.push([e2b, b]);
      const restored = await engine.restore(snap.checkpoint, sandboxWorkspace(e2b, b));
      expect(restored.verifiedFiles).toBe(restored.files);
      const scan = new Map((await e2b.scan(b)).map((e) => [e.path, e]));
      expect(scan.get("run.sh")).toMatchObject({ type: "file", mode: 0o755 });
      expect(scan.get("entry")).toMatchObject({ type: "symlink", target: "src/app.js" });
      expect((await e2b.readFile(b, "src/app.js")).toString()).toBe("console.log('hi')\n");
    } finally {
      await s3.close();
    }
  });
});
