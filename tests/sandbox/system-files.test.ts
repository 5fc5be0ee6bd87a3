/**
 * What a sandbox's processes see of the host's system files: /usr and the listed /etc files,
 * read-only, readable by the sandbox's uid. As root, bwrap made /etc (the folder that holds those
 * binds) 0700, so uid 65533 could read none of them and `node` died on /etc/ssl/openssl.cnf.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalProvider } from "../../src/sandbox";

const root = mkdtempSync(path.join(tmpdir(), "torpor-sysfiles-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const provider = createLocalProvider({ root, bubblewrap: "required", log: () => {} });

describe("a sandbox's system files", () => {
  it("are readable by its processes (node runs), and read-only", async () => {
    const { id } = await provider.create({ template: "base" });
    const ran = await provider.exec(id, "stat -c %a /etc && head -c 5 /etc/passwd && node -e 'console.log(require(\"node:crypto\").createHash(\"sha256\").update(\"x\").digest(\"hex\").length)'");
    expect(ran.stderr).toBe("");
    expect(ran.stdout).toBe("755\nroot:64\n");
    const write = await provider.exec(id, "echo x > /etc/passwd");
    expect(write.exitCode).not.toBe(0);
    await provider.kill(id);
  });
});
