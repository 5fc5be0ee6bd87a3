// How `npm start` (scripts/start.mjs) ends when its child ends: with the child's exit code, or,
// when a signal killed the child (the OOM killer's SIGKILL, a stray `kill`), with a line on stderr
// that names the signal and exit status 128 + its number, as a shell reports it. Before, such a
// death exited 1 with nothing printed, and a SIGKILL looked like a clean stop to nobody.
import { constants } from "node:os";

/** The exit status for a child's end, and the line to print (null for a normal exit). */
export function describeChildExit(code, signal, what = "the Torpor app") {
  if (signal) {
    const number = constants.signals[signal] ?? 0;
    const hint = signal === "SIGKILL" ? " (out of memory? see `dmesg`)" : "";
    return { status: 128 + number, message: `Torpor: ${what} was killed by ${signal}${hint}; exiting with ${128 + number}` };
  }
  return { status: code ?? 1, message: code ? `Torpor: ${what} exited with code ${code}` : null };
}

/** Exit this process the way the child ended. */
export function exitLikeChild(code, signal, what) {
  const { status, message } = describeChildExit(code, signal, what);
  if (message) console.error(message);
  process.exit(status);
}
