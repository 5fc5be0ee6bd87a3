// Node system errors reach a caller as what went wrong, never with the host's paths (issue 14 low
// items: a full disk showed only "InternalError"; ENAMETOOLONG leaked the data dir's path).
import { describe, expect, it } from "vitest";
import { toTRPCError } from "../../src/server/errors";

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: failed, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

const HOST_PATH = "/srv/torpor/.torpor-data/sandboxes/sbx_0000000000aaaaaaaaaaaaaaaaaaaa/workspace/x";

describe("toTRPCError for system errors", () => {
  it("says the disk is full", () => {
    const t = toTRPCError(errno("ENOSPC", "write", HOST_PATH));
    expect(t.code).toBe("INTERNAL_SERVER_ERROR");
    expect(t.message).toMatch(/disk is full/);
    expect(t.message).not.toContain("/srv");
  });

  it("answers a name too long as the caller's mistake", () => {
    const t = toTRPCError(errno("ENAMETOOLONG", "open", HOST_PATH));
    expect(t.code).toBe("BAD_REQUEST");
    expect(t.message).not.toContain("sandboxes");
  });

  it("keeps any other errno without its path", () => {
    const t = toTRPCError(errno("EACCES", "open", HOST_PATH));
    expect(t.message).toBe("A file system call failed on the server (open: EACCES)");
  });

  it("leaves Torpor's typed errors as they were", () => {
    const e = Object.assign(new Error("No session 'ses_x'"), { code: "NOT_FOUND" });
    expect(toTRPCError(e).code).toBe("NOT_FOUND");
    expect(toTRPCError(e).message).toBe("No session 'ses_x'");
  });
});
