/**
 * The provider contract against the E2B adapter, with the e2b SDK mocked at its module boundary
 * by ./fake-e2b (bubblewrap-backed fake sandboxes, so the adapter's in-sandbox scripts really run).
 */
import { afterAll, vi } from "vitest";
import { createE2BProvider } from "../../src/sandbox";
import { providerContract } from "./contract";
import { cleanUpFakes } from "./fake-e2b";

vi.mock("e2b", async (importOriginal) => ({
  ...(await importOriginal<typeof import("e2b")>()),
  Sandbox: (await import("./fake-e2b")).FakeSandbox,
}));
afterAll(cleanUpFakes);

providerContract("e2b (mocked SDK)", () => createE2BProvider({ apiKey: "e2b_test", template: "base", startGraceMs: 1000 }), {
  unknownId: "nosuchsandbox",
  unknownIdCodes: ["SANDBOX_GONE"],
});
