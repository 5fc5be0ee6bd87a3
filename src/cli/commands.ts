/**
 * The CLI's commands over the checkpoint engine. Each returns the JSON result (printed as the last
 * line of stdout with --json) and the human lines printed otherwise.
 */
import { checkpointEngineFromConfig } from "../checkpoint/engine/from-config";
import { localDirSource, localDirTarget } from "../checkpoint/index";
import type { Config } from "../core/config";
import { TorporError } from "../core/errors";
import type { ObjectStore } from "../objectstore/types";
import type { Command } from "./args";
import { mirrorDelete } from "./mirror";
import { createProgressBar } from "./progress";

export interface CommandOutput {
  json: object;
  lines: string[];
  warnings: string[];
  exitCode: number;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

type EngineCommand = Exclude<Command, { name: "help" } | { name: "s3-server" } | { name: "token-rotate" }>;

export async function runEngineCommand(command: EngineCommand, config: Config, objects: ObjectStore): Promise<CommandOutput> {
  // One command per process: a snapshot's own manifest is never read again here.
  const { engine, ignore } = await checkpointEngineFromConfig(config.checkpoint, objects, { keepCommits: false });
  const bar = createProgressBar(!command.json);
  try {
    switch (command.name) {
      case "snapshot": {
        const r = await engine.snapshot(localDirSource(command.dir, { ignore }), {
          parent: command.parent,
          onProgress: (p) => bar.update(p),
        });
        return {
          json: r,
          lines: [
            `checkpoint ${r.checkpoint}`,
            `${r.files} files, ${r.dirs} dirs, ${r.symlinks} symlinks, ${mb(r.bytes)}; uploaded ${mb(r.uploadedBytes)} in ${r.uploadedObjects} objects (${r.reusedFiles} files unchanged) in ${r.seconds.toFixed(2)} s`,
          ],
          warnings: r.skipped.map((s) => `warning: ${s.path}: ${s.reason}`),
          exitCode: 0,
        };
      }
      case "restore": {
        const r = await engine.restore(command.id, localDirTarget(command.dir), {
          allowNonEmpty: command.force || command.mirror,
          onProgress: (p) => bar.update(p),
        });
        const lines = [`restored ${r.checkpoint} into ${command.dir}: ${r.files} files (all verified), ${r.dirs} dirs, ${r.symlinks} symlinks, ${mb(r.bytes)} in ${r.seconds.toFixed(2)} s`];
        if (!command.mirror) return { json: r, lines, warnings: [], exitCode: 0 };
        // Only after every entry is written and verified: a failed restore deletes nothing.
        const { entries } = await engine.readManifest(command.id);
        const { deleted } = await mirrorDelete(command.dir, entries.map((e) => e.path), ignore);
        lines.push(`mirror: deleted ${deleted.length} entries not in the checkpoint${deleted.length ? ` (${deleted.slice(0, 5).join(", ")}${deleted.length > 5 ? ", …" : ""})` : ""}`);
        return { json: { ...r, deleted }, lines, warnings: [], exitCode: 0 };
      }
      case "verify": {
        const r = await engine.verify(command.id, { onProgress: (p) => bar.update(p) });
        const lines = r.ok
          ? [`${r.checkpoint}: ok, ${r.files} files, ${mb(r.bytes)} checked in ${r.seconds.toFixed(2)} s`]
          : [`${r.checkpoint}: ${r.problems.length} problems`, ...r.problems.map((p) => `  ${p.path}: ${p.problem}`)];
        return { json: r, lines, warnings: [], exitCode: r.ok ? 0 : 1 };
      }
      case "ls": {
        const unreadable: string[] = [];
        const list = await engine.list({ onUnreadable: (id, error) => unreadable.push(`skipped ${id}: ${error.message}`) });
        return {
          json: { checkpoints: list, unreadable },
          lines: list.length === 0
            ? ["no checkpoints"]
            : list.map((c) => `${c.id}  ${new Date(c.createdAt).toISOString()}  ${String(c.files).padStart(7)} files  ${mb(c.bytes).padStart(10)}  parent ${c.parent ?? "-"}`),
          warnings: unreadable,
          exitCode: 0,
        };
      }
      case "gc": {
        const r = await engine.gc({ graceMs: command.graceMs });
        const unreadable = r.unreadable ?? [];
        return {
          json: r,
          lines: unreadable.length > 0
            ? [`gc stopped: ${unreadable.length} unreadable manifests, nothing deleted`]
            : [`deleted ${r.deletedObjects} objects (${mb(r.deletedBytes)}), kept ${r.keptObjects}, ${r.inGrace} unreferenced but within the grace period`],
          warnings: unreadable.map((u) => `unreadable manifest ${u}`),
          exitCode: unreadable.length > 0 ? 1 : 0,
        };
      }
      default: {
        const never: never = command;
        throw new TorporError("INTERNAL", `Unknown command ${JSON.stringify(never)}`);
      }
    }
  } finally {
    bar.done();
  }
}
