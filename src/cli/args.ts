/**
 * Command-line parsing for the torpor CLI: `torpor <command> [args] [--flags]`. Unknown flags and
 * missing arguments are usage errors (exit code 2) with one line saying what is wrong.
 */
import { parseArgs } from "node:util";
import { ValidationError } from "../core/errors";

export const USAGE = `usage:
  torpor snapshot <dir> [--parent <id>] [--json]
  torpor restore <id> <dir> [--force | --mirror] [--json]
                 --force: restore over a non-empty folder, keeping other files;
                 --mirror: the same, then delete what the checkpoint does not hold
  torpor verify <id> [--json]
  torpor ls [--json]
  torpor gc [--grace-ms <ms>] [--json]
  torpor s3-server            run the embedded S3 server in the foreground
  torpor token rotate [--json]  revoke the app's operator token (a running app writes a new one)
settings come from the environment (see docs/checkpoints.md and the README)`;

export type Command =
  | { name: "snapshot"; dir: string; parent: string | undefined; json: boolean }
  | { name: "restore"; id: string; dir: string; force: boolean; mirror: boolean; json: boolean }
  | { name: "verify"; id: string; json: boolean }
  | { name: "ls"; json: boolean }
  | { name: "gc"; graceMs: number | undefined; json: boolean }
  | { name: "s3-server"; json: boolean }
  | { name: "token-rotate"; json: boolean }
  | { name: "help"; json: boolean };

export class UsageError extends ValidationError {}

export function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        parent: { type: "string" },
        force: { type: "boolean", default: false },
        mirror: { type: "boolean", default: false },
        "grace-ms": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const json = values.json ?? false;
  const [name, ...rest] = positionals;
  if (values.help || name === undefined || name === "help") return { name: "help", json };
  const need = (count: number, what: string) => {
    if (rest.length !== count) throw new UsageError(`torpor ${name} needs ${what} (got ${rest.length} arguments)`);
  };
  switch (name) {
    case "snapshot":
      need(1, "<dir>");
      return { name, dir: rest[0]!, parent: values.parent, json };
    case "restore":
      need(2, "<id> <dir>");
      if (values.force && values.mirror) throw new UsageError("torpor restore takes --force (merge) or --mirror (delete extra files), not both");
      return { name, id: rest[0]!, dir: rest[1]!, force: values.force ?? false, mirror: values.mirror ?? false, json };
    case "verify":
      need(1, "<id>");
      return { name, id: rest[0]!, json };
    case "ls":
      need(0, "no arguments");
      return { name, json };
    case "gc": {
      need(0, "no arguments");
      const grace = values["grace-ms"];
      if (grace !== undefined && !/^\d+$/.test(grace)) throw new UsageError(`--grace-ms must be a number of milliseconds (got ${grace})`);
      return { name, graceMs: grace === undefined ? undefined : Number(grace), json };
    }
    case "s3-server":
      need(0, "no arguments");
      return { name, json };
    case "token":
      if (rest.length !== 1 || rest[0] !== "rotate") throw new UsageError("torpor token needs 'rotate'");
      return { name: "token-rotate", json };
    default:
      throw new UsageError(`unknown command '${name}' (try: snapshot, restore, verify, ls, gc, token rotate)`);
  }
}
