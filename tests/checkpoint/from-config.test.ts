// One checkpoint engine from settings for the app and the CLI (issue 14: the app ignored
// TORPOR_IGNORE_FILE and uploaded a listed secret.env).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointEngineFromConfig } from "../../src/checkpoint/engine/from-config";
import { localDirSource } from "../../src/checkpoint/index";
import { loadConfig } from "../../src/core/config";
import { startTestS3, type TestS3 } from "../helpers/s3";
import { tempDirs } from "./tree";

const temp = tempDirs();
let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
  await temp.removeAll();
});

describe("checkpointEngineFromConfig", () => {
  it("applies TORPOR_IGNORE and TORPOR_IGNORE_FILE to every snapshot", async () => {
    const dir = await temp.make("ignore");
    await mkdir(path.join(dir, "build"), { recursive: true });
    await writeFile(path.join(dir, "app.ts"), "export {}");
    await writeFile(path.join(dir, "secret.env"), "TOKEN=x");
    await writeFile(path.join(dir, "build", "out.js"), "1");
    const ignoreFile = path.join(await temp.make("rules"), "ignore");
    await writeFile(ignoreFile, "# secrets stay home\nsecret.env\n");
    const config = loadConfig({ TORPOR_IGNORE: "build/", TORPOR_IGNORE_FILE: ignoreFile });
    const { engine, ignore } = await checkpointEngineFromConfig(config.checkpoint, s3.objects);
    expect(ignore).toEqual(["build/", "secret.env"]);
    // The source has no rules of its own: the engine's (the app's path) decide.
    const snap = await engine.snapshot(localDirSource(dir));
    const paths = (await engine.readManifest(snap.checkpoint)).entries.map((e) => e.path);
    expect(paths).toContain("app.ts");
    expect(paths).not.toContain("secret.env");
    expect(paths.filter((p) => p.startsWith("build"))).toEqual([]);
  });

  it("names the variable when the ignore file cannot be read", async () => {
    const config = loadConfig({ TORPOR_IGNORE_FILE: "/nonexistent/torpor-ignore" });
    await expect(checkpointEngineFromConfig(config.checkpoint, s3.objects)).rejects.toThrow(/TORPOR_IGNORE_FILE/);
  });
});
