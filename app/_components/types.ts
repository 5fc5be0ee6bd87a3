/** The API's output types, inferred from the router (type-only: no server code in the browser). */
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../../src/server/routers";

export type Outputs = inferRouterOutputs<AppRouter>;
export type SessionRow = Outputs["sessions"]["list"][number];
export type CheckpointRow = Outputs["checkpoints"]["list"][number];
export type RunRow = Outputs["runs"]["list"][number];
export type ChangeRow = Outputs["files"]["pendingChanges"][number];
export type OverviewData = Outputs["overview"]["get"];
export type RunSearch = Outputs["runs"]["search"];
export type RunDetail = Outputs["runs"]["get"];
