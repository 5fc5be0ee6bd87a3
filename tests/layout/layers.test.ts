// The layering of docs/DEVELOPING.md holds: imports point down (issue 16: "add an import-direction
// check to the tests"). The rule itself is checked on known cases, so that the check can fail.
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script, no types
import { allowed, violations } from "../../scripts/check-layers.mjs";

describe("layers", () => {
  it("refuses imports that point up or sideways", () => {
    expect(allowed("src/core/config.ts", "src/store/types.ts")).toBe(false);
    // The workspace vocabulary used to live in src/checkpoint and was imported by src/sandbox.
    expect(allowed("src/sandbox/types.ts", "src/checkpoint/types.ts")).toBe(false);
    expect(allowed("src/store/rules.ts", "src/workflows/lease.ts")).toBe(false);
    expect(allowed("src/engine/engine.ts", "src/workflows/types.ts")).toBe(false);
    expect(allowed("src/objectstore/s3.ts", "src/checkpoint/repo/format.ts")).toBe(false);
    // Inside src/checkpoint: the format does not know the engine or the local adapters.
    expect(allowed("src/checkpoint/repo/gc.ts", "src/checkpoint/engine/snapshot")).toBe(false);
    expect(allowed("src/checkpoint/local/target.ts", "src/checkpoint/engine/create")).toBe(false);
    expect(allowed("src/checkpoint/repo/format.ts", "src/checkpoint/index")).toBe(false);
  });

  it("allows imports that point down", () => {
    expect(allowed("src/workflows/lease.ts", "src/core/lifecycle.ts")).toBe(true);
    expect(allowed("src/sandbox/types.ts", "src/core/workspace.ts")).toBe(true);
    expect(allowed("app/api/trpc/[trpc]/route.ts", "src/server/routers/index.ts")).toBe(true);
    expect(allowed("src/store/convex.ts", "convex/_generated/api.js")).toBe(true);
    expect(allowed("src/checkpoint/engine/create.ts", "src/checkpoint/local/source")).toBe(true);
    expect(allowed("src/checkpoint/local/target.ts", "src/checkpoint/repo/blob-reader")).toBe(true);
    expect(allowed("src/checkpoint/repo/format.ts", "src/checkpoint/types")).toBe(true);
  });

  it("every import of the tree points down", () => {
    expect(violations()).toEqual([]);
  });
});
