/**
 * The CLI's folder source records no setuid, setgid or sticky bit (issue 14: stripped, not
 * refused): the scan reports mode & 0o777, so the manifest never carries them and a restore of it
 * (into a folder or a sandbox) cannot plant them, whatever the restoring side does.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { localDirSource, localDirTarget } from "../../src/checkpoint/index";
import { checkpointFixture } from "./fixture";

const fx = checkpointFixture();

describe("local folder source: modes", () => {
  it("strips setuid/setgid/sticky at the scan, so the manifest holds permission bits only", async () => {
    const src = await fx.dir("suid-src");
    await writeFile(path.join(src, "suid"), "#!/bin/sh\n");
    await chmod(path.join(src, "suid"), 0o4755);
    await writeFile(path.join(src, "sgid"), "g");
    await chmod(path.join(src, "sgid"), 0o2750);
    await mkdir(path.join(src, "shared"));
    await chmod(path.join(src, "shared"), 0o3775);
    await mkdir(path.join(src, "tmp"));
    await chmod(path.join(src, "tmp"), 0o1777);
    await writeFile(path.join(src, "plain"), "p", { mode: 0o640 });
    await chmod(path.join(src, "plain"), 0o640);

    const expected = { suid: 0o755, sgid: 0o750, shared: 0o775, tmp: 0o777, plain: 0o640 };
    const scanned = Object.fromEntries((await localDirSource(src).scan()).map((e) => [e.path, e.mode]));
    expect(scanned).toEqual(expected);

    const { checkpoint } = await fx.engine.snapshot(localDirSource(src));
    const { entries } = await fx.engine.readManifest(checkpoint);
    expect(Object.fromEntries(entries.map((e) => [e.path, e.mode]))).toEqual(expected);

    const out = await fx.dir("suid-out");
    await fx.engine.restore(checkpoint, localDirTarget(out));
    expect(Object.fromEntries((await localDirSource(out).scan()).map((e) => [e.path, e.mode]))).toEqual(expected);
  });
});
