/**
 * The one way to build a checkpoint engine from settings, used by the app's runtime and by the
 * CLI alike, so that both honour the same settings (TORPOR_IGNORE_FILE was read by the CLI only).
 */
import { readFile } from "node:fs/promises";
import type { Config } from "../../core/config";
import { ConfigError } from "../../core/errors";
import type { ObjectStore } from "../../objectstore/types";
import { createCheckpointEngine } from "./create";
import type { CheckpointEngine } from "../types";

/** TORPOR_IGNORE's patterns, then TORPOR_IGNORE_FILE's (gitignore syntax; `#` lines are comments). */
export async function ignoreRules(settings: Config["checkpoint"]): Promise<string[]> {
  const rules = [...settings.ignore];
  const file = settings.ignoreFile;
  if (file) {
    const text = await readFile(file, "utf8").catch((error: unknown) => {
      throw new ConfigError(`Invalid setting TORPOR_IGNORE_FILE: cannot read ${file}`, { cause: error, details: { variable: "TORPOR_IGNORE_FILE" } });
    });
    rules.push(...text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")));
  }
  return rules;
}

/** `use.keepCommits: false` for a process that takes one snapshot and exits, as the CLI does (CheckpointEngineOptions.keepCommits). */
export async function checkpointEngineFromConfig(
  settings: Config["checkpoint"],
  objects: ObjectStore,
  use: { keepCommits?: boolean } = {},
): Promise<{ engine: CheckpointEngine; ignore: string[] }> {
  const ignore = await ignoreRules(settings);
  const engine = createCheckpointEngine({
    objects,
    concurrency: settings.concurrency,
    packTargetBytes: settings.packTargetBytes,
    smallFileBytes: settings.smallFileBytes,
    ignore,
    gcGraceMs: settings.gcGraceMs,
    deltaChainMax: settings.deltaChainMax,
    keepCommits: use.keepCommits,
  });
  return { engine, ignore };
}
