/**
 * The StateStore contract on the embedded SQLite adapter, each test on a fresh file in a temp dir.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { openSqliteStore } from "../../src/store/sqlite";
import { storeContract } from "./contract";

const dir = mkdtempSync(path.join(tmpdir(), "torpor-store-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract("sqlite", () => openSqliteStore({ file: path.join(dir, `nested/${n++}/torpor.sqlite`) }));
