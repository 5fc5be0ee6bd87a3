// Deferred deletion of killed local sandboxes (issue 13): kill() makes the folders disappear at
// once, the reaper deletes them later in bounded batches, and never deletes through a symlink.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalProvider } from "../../src/sandbox/local/provider";
import { createTrash } from "../../src/sandbox/local/trash";

const base = mkdtempSync(path.join(tmpdir(), "torpor-trash-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function tree(dir: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `d${i % 7}`, `e${i % 3}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `f${i}`), `file ${i}`);
  }
}

describe("local sandbox trash", () => {
  it("kill moves the folders aside at once; the reaper deletes them after minAgeMs, in batches", async () => {
    const root = path.join(base, "provider");
    const provider = createLocalProvider({ root, bubblewrap: "off", log: () => undefined, trash: { intervalMs: 0 } });
    const info = await provider.create({ template: "base" });
    await provider.writeFile(info.id, "a/b/c.txt", "hello");
    const workspace = path.join(root, info.id, "workspace");
    tree(workspace, 300);
    await provider.kill(info.id);
    expect(existsSync(workspace)).toBe(false);
    expect(await provider.status(info.id)).toBe("gone");
    const trashDir = path.join(root, ".trash");
    expect(statSync(trashDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(trashDir).length).toBe(4); // workspace, tmp, home, logs

    const trash = createTrash({ root, intervalMs: 0, minAgeMs: 60_000 });
    expect(trash.status().entries).toBe(4);
    expect(trash.reap(Date.now())).toBe(0); // younger than minAgeMs: kept
    const later = Date.now() + 61_000;
    let rounds = 0;
    let deleted = 0;
    for (let n = trash.reap(later, 100); n > 0; n = trash.reap(later, 100)) {
      expect(n).toBeLessThanOrEqual(100);
      deleted += n;
      rounds++;
    }
    expect(rounds).toBeGreaterThan(3); // 300+ files and their folders take several batches
    expect(deleted).toBeGreaterThan(300);
    expect(trash.status()).toEqual({ entries: 0, oldestAt: null });
    expect(readdirSync(trashDir)).toEqual([]);
  });

  it("never deletes through a symlink planted in the trash", () => {
    const root = path.join(base, "links");
    const victim = path.join(base, "victim");
    mkdirSync(victim, { recursive: true });
    writeFileSync(path.join(victim, "keep.txt"), "host file");
    const trash = createTrash({ root, intervalMs: 0, minAgeMs: 0 });
    const doomed = path.join(root, "sbx_x", "workspace");
    tree(doomed, 20);
    symlinkSync(victim, path.join(doomed, "d1", "escape"));
    symlinkSync(path.join(victim, "keep.txt"), path.join(doomed, "file-link"));
    trash.put("sbx_000000000aaaaaaaaaaaaaaaaaaaa", { workspace: doomed }, 1);
    while (trash.reap(Date.now(), 50) > 0);
    expect(trash.status().entries).toBe(0);
    expect(readdirSync(victim)).toEqual(["keep.txt"]);
  });
});
