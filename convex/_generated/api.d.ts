/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as auth from "../auth.js";
import type * as changes from "../changes.js";
import type * as checkpoints from "../checkpoints.js";
import type * as config from "../config.js";
import type * as functions from "../functions.js";
import type * as history from "../history.js";
import type * as migrations from "../migrations.js";
import type * as model from "../model.js";
import type * as runs from "../runs.js";
import type * as sessions from "../sessions.js";
import type * as stats from "../stats.js";
import type * as validators from "../validators.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  auth: typeof auth;
  changes: typeof changes;
  checkpoints: typeof checkpoints;
  config: typeof config;
  functions: typeof functions;
  history: typeof history;
  migrations: typeof migrations;
  model: typeof model;
  runs: typeof runs;
  sessions: typeof sessions;
  stats: typeof stats;
  validators: typeof validators;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;
