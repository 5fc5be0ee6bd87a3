/**
 * The events that trigger workflows, as types and zod schemas. Both engines validate with them: the
 * embedded engine on send, Inngest through the client's event types. They are pure data, so they
 * live in core, below both the engine and the workflows.
 *
 * requestId: the caller's id for one request. Both engines treat a second event with the same
 * request id as a no-op, so a retried HTTP call or a repeated sweep never runs a workflow twice.
 */
import * as z from "zod";
import { ValidationError } from "./errors";
import type { SleepKind } from "./types";

export type TorporEvent =
  | {
      name: "torpor/session.hibernate.requested";
      /** kind: the sweep's "idle" or a caller's "request"; absent in events sent before it was carried. */
      data: { sessionId: string; reason: string; requestId: string; kind?: SleepKind };
    }
  | { name: "torpor/session.archive.requested"; data: { sessionId: string; reason: string; requestId: string } }
  | { name: "torpor/session.resume.requested"; data: { sessionId: string; reason: string; requestId: string } }
  | {
      name: "torpor/session.snapshot.requested";
      data: { sessionId: string; label: string | null; requestId: string };
    }
  | {
      name: "torpor/session.restore.requested";
      data: { sessionId: string; checkpointId: string; requestId: string };
    }
  | { name: "torpor/session.delete.requested"; data: { sessionId: string; requestId: string } }
  | { name: "torpor/session.flush.requested"; data: { sessionId: string; reason: string; requestId: string } };

export type EventName = TorporEvent["name"];

/** The event a cron-triggered workflow receives: which schedule fired, and for which minute. */
export interface CronTick {
  name: "torpor/cron.tick";
  data: { workflow: string; scheduledAt: number };
}

const sessionId = z.string().min(1).max(200);
const requestId = z.string().min(1).max(300);
const reason = z.string().max(2000);

export const eventDataSchemas = {
  "torpor/session.hibernate.requested": z.object({ sessionId, reason, requestId, kind: z.enum(["idle", "request"]).optional() }),
  "torpor/session.archive.requested": z.object({ sessionId, reason, requestId }),
  "torpor/session.resume.requested": z.object({ sessionId, reason, requestId }),
  "torpor/session.snapshot.requested": z.object({ sessionId, label: z.string().max(200).nullable(), requestId }),
  "torpor/session.restore.requested": z.object({ sessionId, checkpointId: z.string().min(1).max(200), requestId }),
  "torpor/session.delete.requested": z.object({ sessionId, requestId }),
  "torpor/session.flush.requested": z.object({ sessionId, reason, requestId }),
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
