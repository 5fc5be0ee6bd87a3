/** The README's settings table names every variable of the settings schema, and nothing else. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { envSchema } from "../../src/core/config";

describe("README settings table", () => {
  it("documents every environment variable of src/core/config.ts", () => {
    const doc = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const table = doc.slice(doc.indexOf("## Settings"), doc.indexOf("## Deploy"));
    const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(envSchema.shape).sort());
  });
});
