/** The provider contract against the local provider, with bubblewrap and (loudly) without. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { createLocalProvider } from "../../src/sandbox";
import { providerContract } from "./contract";

const root = mkdtempSync(path.join(tmpdir(), "torpor-local-contract-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

providerContract("local (bubblewrap)", () => createLocalProvider({ root: path.join(root, "bwrap"), bubblewrap: "required" }));
providerContract("local (bubblewrap off, NOT isolated)", () =>
  createLocalProvider({ root: path.join(root, "off"), bubblewrap: "off", log: () => undefined }),
);
