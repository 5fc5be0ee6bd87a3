/**
 * `torpor token rotate`: revokes the operator token the app issued (the file
 * `<data dir>/operator-token`, whose name src/server/operator-token.ts owns: the CLI and the
 * server are sibling layers, so it is repeated here and tests/cli/token.test.ts runs both). The
 * server accepts a token it issued only while that token is the one in the file, so removing the
 * file revokes it at once; a running server writes the next one within seconds, which this
 * command waits for, and a stopped one writes it at its next start.
 */
import { lstatSync, rmSync } from "node:fs";
import path from "node:path";

export const OPERATOR_TOKEN_NAME = "operator-token";
const WAIT_MS = 6000;

export interface RotateResult {
  file: string;
  /** A token file was there (and is gone): its token is refused from now on. */
  revoked: boolean;
  /** A running server wrote the next token in the file while this command waited. */
  replaced: boolean;
}

const stamp = (file: string) => {
  try {
    const st = lstatSync(file);
    return `${st.ino}:${st.mtimeMs}`;
  } catch {
    return null;
  }
};

export async function rotateOperatorToken(dataDir: string, waitMs = WAIT_MS): Promise<RotateResult> {
  const file = path.join(dataDir, OPERATOR_TOKEN_NAME);
  const before = stamp(file);
  rmSync(file, { force: true });
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const now = stamp(file);
    if (now !== null && now !== before) return { file, revoked: before !== null, replaced: true };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { file, revoked: before !== null, replaced: false };
}

export function rotateLines(r: RotateResult): string[] {
  return [
    r.revoked ? `revoked the operator token in ${r.file}` : `no operator token in ${r.file} (nothing to revoke)`,
    r.replaced ? `the running app wrote a new one: ${r.file}` : "no running app replaced it: the next start writes a new one",
  ];
}
