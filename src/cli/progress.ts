/**
 * A one-line progress bar on stderr, for terminals only: redrawn at most every 100 ms, cleared
 * when done. Off (a no-op) when stderr is not a TTY or when output is --json.
 */
import type { RestoreProgress, SnapshotProgress } from "../checkpoint/types";

export interface ProgressBar {
  update(progress: SnapshotProgress | RestoreProgress): void;
  done(): void;
}

const WIDTH = 24;

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

export function createProgressBar(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!enabled || !stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : p.filesTotal > 0 ? p.filesDone / p.filesTotal : 0;
      const filled = Math.round(ratio * WIDTH);
      const bar = "#".repeat(filled) + "-".repeat(WIDTH - filled);
      const line = `${p.phase.padEnd(8)} [${bar}] ${(ratio * 100).toFixed(0).padStart(3)}%  ${p.filesDone}/${p.filesTotal} files  ${megabytes(p.bytesDone)}/${megabytes(p.bytesTotal)} MB`;
      stream.write(`\r${line.slice(0, (stream.columns || 100) - 1)}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write("\r\x1b[K");
    },
  };
}
