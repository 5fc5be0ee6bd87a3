/**
 * Zod schemas of the events that trigger workflows (TorporEvent in ./types). Both engines validate
 * with them: the embedded engine on send, Inngest through the client's event types.
 *
 * requestId: the caller's id for one request. Both engines treat a second event with the same
 * request id as a no-op, so a retried HTTP call or a repeated sweep never runs a workflow twice.
 */
import { z } from "zod";
import { ValidationError } from "../core/errors";
import type { EventName, TorporEvent } from "./types";

const sessionId = z.string().min(1).max(200);
const requestId = z.string().min(1).max(300);
const reason = z.string().max(2000);

export const eventDataSchemas = {
  "torpor/session.hibernate.requested": z.object({ sessionId, reason, requestId }),
  "torpor/session.archive.requested": z.object({ sessionId, reason, requestId }),
  "torpor/session.resume.requested": z.object({ sessionId, reason, requestId }),
  "torpor/session.snapshot.requested": z.object({ sessionId, label: z.string().max(200).nullable(), requestId }),
  "torpor/session.restore.requested": z.object({ sessionId, checkpointId: z.string().min(1).max(200), requestId }),
  "torpor/session.delete.requested": z.object({ sessionId, requestId }),
} as const satisfies Record<EventName, z.ZodType>;

export const EVENT_NAMES = Object.keys(eventDataSchemas) as EventName[];

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(eventDataSchemas, name);
}

/** Checks an event's name and data; throws ValidationError naming the bad field. */
export function parseEvent(event: { name: string; data: unknown }): TorporEvent {
  if (!isEventName(event.name)) {
    throw new ValidationError(`Unknown event '${event.name}'`, { details: { name: event.name } });
  }
  const parsed = eventDataSchemas[event.name].safeParse(event.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(`Invalid '${event.name}' event: ${issue.path.join(".") || "data"}: ${issue.message}`, {
      details: { name: event.name, path: issue.path.map(String) },
    });
  }
  return { name: event.name, data: parsed.data } as TorporEvent;
}
