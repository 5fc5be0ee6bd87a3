/**
 * The sandbox layer's public surface: the SandboxProvider port, its two adapters (local
 * bubblewrap sandboxes, E2B), the choice between them from Config, and sandboxWorkspace (a
 * sandbox as the checkpoint engine's source and target).
 */
import type { Config } from "../core/config";
import { createE2BProvider } from "./e2b/provider";
import { createLocalProvider } from "./local/provider";
import type { SandboxProvider } from "./types";

export * from "./types";
export { createLocalProvider, type LocalProviderOptions } from "./local/provider";
export { createE2BProvider, type E2BProviderOptions } from "./e2b/provider";
export { sandboxWorkspace } from "./workspace";
export { workspacePath } from "./paths";

/** The provider that the configuration chose. */
export function openSandboxProvider(config: Config["sandbox"], log?: (msg: string) => void): SandboxProvider {
  switch (config.kind) {
    case "local":
      return createLocalProvider({ root: config.root, bubblewrap: config.bubblewrap, log });
    case "e2b":
      return createE2BProvider({
        apiKey: config.apiKey,
        domain: config.domain,
        template: config.template,
        lifetimeMs: config.lifetimeMs,
        maxRuntimeMs: config.maxRuntimeMs,
      });
  }
}
