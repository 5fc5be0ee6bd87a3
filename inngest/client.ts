/**
 * The Inngest client and Torpor's typed event types (zod schemas from src/workflows/events).
 *
 * Settings come from Config, never from the SDK's own environment lookup, so that the one settings
 * schema decides. `inngestConfigured(config)` says whether Inngest is the workflow engine: when it
 * is not, the app must not serve /api/inngest nor send events (nothing reaches Inngest).
 */
import { eventType, Inngest } from "inngest";
import { getConfig, type Config } from "../src/core/config";
import { eventDataSchemas } from "../src/workflows/events";

export const torporEvents = {
  hibernateRequested: eventType("torpor/session.hibernate.requested", {
    schema: eventDataSchemas["torpor/session.hibernate.requested"],
  }),
  archiveRequested: eventType("torpor/session.archive.requested", {
    schema: eventDataSchemas["torpor/session.archive.requested"],
  }),
  resumeRequested: eventType("torpor/session.resume.requested", {
    schema: eventDataSchemas["torpor/session.resume.requested"],
  }),
  snapshotRequested: eventType("torpor/session.snapshot.requested", {
    schema: eventDataSchemas["torpor/session.snapshot.requested"],
  }),
  restoreRequested: eventType("torpor/session.restore.requested", {
    schema: eventDataSchemas["torpor/session.restore.requested"],
  }),
  deleteRequested: eventType("torpor/session.delete.requested", {
    schema: eventDataSchemas["torpor/session.delete.requested"],
  }),
} as const;

export function inngestConfigured(config: Config): boolean {
  return config.workflowEngine.kind === "inngest";
}

export function createInngestClient(config: Config): Inngest {
  const engine = config.workflowEngine;
  if (engine.kind !== "inngest") {
    // Still a valid client (functions must exist to be listed), but it has no key: sending throws.
    return new Inngest({ id: "torpor", isDev: false });
  }
  return new Inngest({
    id: engine.appId,
    eventKey: engine.eventKey,
    signingKey: engine.signingKey,
    isDev: engine.dev,
    baseUrl: engine.baseUrl,
  });
}

/** The process's client, built from the process's settings. */
export const inngest = createInngestClient(getConfig());
