/** The package entry for host apps and editors: the typed API client, readiness waits and the presence hook. */
export { createTorporClient, errorCode, trpcEndpoint } from "./client";
export type { AppRouter, TorporClient, TorporClientOptions } from "./client";
export { isPresent, usePresencePing } from "./presence";
export type { PresenceOptions } from "./presence";
export { isRetriableBusy, TorporWaitTimeout, waitReady } from "./wait-ready";
export type { WaitReadyOptions } from "./wait-ready";
