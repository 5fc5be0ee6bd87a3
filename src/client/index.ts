/** The package entry for host apps and editors: the typed API client and the presence hook. */
export { createTorporClient, errorCode, trpcEndpoint } from "./client";
export type { AppRouter, TorporClient, TorporClientOptions } from "./client";
export { isPresent, usePresencePing } from "./presence";
export type { PresenceOptions } from "./presence";
