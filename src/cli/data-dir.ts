/**
 * Where the CLI finds the app's data (the embedded object store's files), the way the app does:
 * TORPOR_DATA_DIR when set, else `.torpor-data` in the current folder, else the `.torpor-data`
 * that `npm start` made beside the package (it changes into the package root before it starts).
 * With none of them present an embedded-mode command fails and names every place it looked,
 * instead of answering "no checkpoints" from an empty store it just made up.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../core/errors";

export interface DataDirChoice {
  /** The folder to use, or null when none of the candidates exists. */
  dir: string | null;
  looked: string[];
  fromEnv: boolean;
}

export function findDataDir(env: Record<string, string | undefined>, cwd: string, packageRoot: string): DataDirChoice {
  if (env.TORPOR_DATA_DIR) return { dir: path.resolve(cwd, env.TORPOR_DATA_DIR), looked: [], fromEnv: true };
  const looked = [...new Set([path.join(cwd, ".torpor-data"), path.join(packageRoot, ".torpor-data")])];
  return { dir: looked.find((d) => existsSync(d)) ?? null, looked, fromEnv: false };
}

/** For the commands that read the embedded store: a missing data dir is an error that says where it looked. */
export function requireDataDir(choice: DataDirChoice): string {
  if (choice.dir !== null) return choice.dir;
  throw new ConfigError(
    `No Torpor data dir: looked in ${choice.looked.join(" and ")}; set TORPOR_DATA_DIR to the app's data dir (or S3_BUCKET for a remote store)`,
  );
}

/** The package root: the nearest folder above this module (src/cli or dist) with a package.json. */
export function packageRoot(moduleUrl: string): string {
  let dir = path.dirname(fileURLToPath(moduleUrl));
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
