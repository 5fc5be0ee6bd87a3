/**
 * The process's log: one line per message on stderr, filtered by TORPOR_LOG_LEVEL. Callers pass
 * a plain message (info) or a level; a message below the configured level is dropped.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type Log = (message: string, level?: LogLevel) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLog(threshold: LogLevel, sink: (line: string) => void = (line) => console.error(line)): Log {
  return (message, level = "info") => {
    if (RANK[level] < RANK[threshold]) return;
    sink(message.startsWith("[torpor]") ? message : `[torpor] ${message}`);
  };
}
