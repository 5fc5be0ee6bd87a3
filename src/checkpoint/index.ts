/** The checkpoint engine's public surface: the types (types.ts) and the engine with its local source and target. */
export * from "./types";
export {
  createCheckpointEngine,
  localDirSource,
  localDirTarget,
  type CheckpointEngineOptions,
  type LocalDirSource,
  type LocalDirSourceOptions,
  type LocalDirTarget,
} from "./engine/create";
export { unsafePathReason, assertRestorable } from "./repo/paths";
export { isCheckpointId } from "./repo/format";
export { compareScan, describeComparison, type ScanComparison, type ScanDifference } from "./engine/compare";
