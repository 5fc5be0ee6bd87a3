/**
 * The process's Inngest client and Torpor's typed event types (zod schemas from src/core/events).
 * The client is built by src/engine/inngest from Config; `inngestConfigured(config)` says whether
 * Inngest is the workflow engine: when it is not, the app neither serves /api/inngest nor sends.
 */
import { eventType } from "inngest";
import { getConfig } from "../src/core/config";
import { eventDataSchemas } from "../src/core/events";
import { createInngestClient, inngestConfigured } from "../src/engine/inngest";

export { createInngestClient, inngestConfigured };

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
  flushRequested: eventType("torpor/session.flush.requested", {
    schema: eventDataSchemas["torpor/session.flush.requested"],
  }),
} as const;

/** The process's client, built from the process's settings. */
export const inngest = createInngestClient(getConfig());
