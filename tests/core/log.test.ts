// TORPOR_LOG_LEVEL filters the process's log (issue 14: the setting was never read).
import { describe, expect, it } from "vitest";
import { createLog } from "../../src/core/log";

describe("createLog", () => {
  it("drops messages below the configured level and prefixes the rest", () => {
    const lines: string[] = [];
    const log = createLog("warn", (line) => lines.push(line));
    log("an info message");
    log("a debug message", "debug");
    log("a warning", "warn");
    log("[torpor] run failed", "error");
    expect(lines).toEqual(["[torpor] a warning", "[torpor] run failed"]);
  });

  it("keeps info at the default level and debug only at debug", () => {
    const info: string[] = [];
    createLog("info", (l) => info.push(l))("hello");
    const debug: string[] = [];
    const d = createLog("debug", (l) => debug.push(l));
    d("x", "debug");
    expect(info).toEqual(["[torpor] hello"]);
    expect(debug).toEqual(["[torpor] x"]);
  });
});
