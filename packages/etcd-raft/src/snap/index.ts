export { SnapshotCorruptError, SnapshotNotFoundError } from "./errors.js";
export { type PersistedSnapshot, snapshotFileName } from "./format.js";
export {
  saveSnapshot,
  loadNewest,
  loadSnapshot,
  listSnapshots,
  pruneSnapshots,
  DEFAULT_SNAPSHOTS_KEPT,
  type SaveSnapshotOptions,
  type LoadNewestOptions,
  type LoadedSnapshot,
  type SkippedSnapshot,
} from "./snapshotter.js";
