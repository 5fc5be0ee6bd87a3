/**
 * Asking the workflow engine for lifecycle work (resume, hibernate, snapshot, restore, delete).
 * The API never changes a session's state itself beyond creation: the workflows hold the lease.
 * Each request carries a request id, the workflows' idempotency key, so a retried HTTP call or a
 * burst of wake-up pings starts the work once.
 */
import { newId } from "../core/ids";
import type { TorporEvent } from "../workflows/types";
import type { ServerDeps } from "./context";

export interface RequestReceipt {
  requestId: string;
  /** The engine's run ids (embedded) or event ids (Inngest). */
  ids: string[];
}

type EventData<N extends TorporEvent["name"]> = Omit<Extract<TorporEvent, { name: N }>["data"], "requestId">;

export async function requestWork<N extends TorporEvent["name"]>(
  deps: ServerDeps,
  name: N,
  data: EventData<N>,
  requestId: string = newId("req"),
): Promise<RequestReceipt> {
  const event = { name, data: { ...data, requestId } } as TorporEvent;
  const { ids } = await deps.dispatcher.send(event);
  return { requestId, ids };
}
