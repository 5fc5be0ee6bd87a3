// The one workspace-path rule (issue 14 low items, issue 16 "path rules exist three times"): the
// API, the sandbox providers and the checkpoint format accept and refuse the same paths.
import { describe, expect, it } from "vitest";
import { unsafePathReason as checkpointRule } from "../../src/checkpoint/repo/paths";
import { unsafePathReason } from "../../src/core/workspace-paths";
import { workspacePath as sandboxPath } from "../../src/sandbox/paths";
import { workspacePath as apiPath } from "../../src/server/inputs";

const refused = [
  "C:/notes/x.txt",
  "c:\\notes\\x.txt",
  "/etc/passwd",
  "a/../b",
  "a//b",
  "./a/./b",
  "a\0b",
  `dir/${"n".repeat(256)}`,
  `${"abcdefgh/".repeat(460)}x`, // 4,141 bytes
];
const accepted = ["src/app.ts", "a b/c\\d.txt", "node_modules/.bin/next", `${"n".repeat(255)}`, "C:notes"];

describe("one workspace-path rule", () => {
  for (const p of refused) {
    it(`refuses ${JSON.stringify(p.length > 40 ? `${p.slice(0, 40)}…` : p)} in every layer`, () => {
      expect(unsafePathReason(p)).not.toBeNull();
      expect(checkpointRule(p)).not.toBeNull();
      expect(apiPath.safeParse(p).success).toBe(false);
      // The provider normalises one leading "./" and trailing "/" but refuses the rest the same way.
      if (p !== "./a/./b") expect(() => sandboxPath(p)).toThrow(/Refused path/);
    });
  }
  for (const p of accepted) {
    it(`accepts ${JSON.stringify(p.length > 40 ? `${p.slice(0, 40)}…` : p)} in every layer`, () => {
      expect(unsafePathReason(p)).toBeNull();
      expect(checkpointRule(p)).toBeNull();
      expect(apiPath.safeParse(p).success).toBe(true);
      expect(sandboxPath(p)).toBe(p);
    });
  }

  it("keeps long names out of the message (no host path, bounded length)", () => {
    const long = "n".repeat(300);
    const error = (() => {
      try {
        sandboxPath(long);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(error?.message.length).toBeLessThan(300);
    expect(error?.message).not.toMatch(/sandboxes|\/tmp|workspace\//);
  });
});
