export {};
export * from "./raft/index.js";
export * from "./mvcc/index.js";
export {
  Wal,
  WalError,
  WalCorruptError,
  readWal,
  DEFAULT_SEGMENT_SIZE,
  type WalMetadata,
  type WalOptions,
  type WalStats,
  type WalState,
  type WalRecovery,
  type TornTail,
  type ReadWalOptions,
} from "./wal/index.js";
export {
  saveSnapshot,
  loadNewest,
  loadSnapshot,
  listSnapshots,
  pruneSnapshots,
  snapshotFileName,
  SnapshotCorruptError,
  SnapshotNotFoundError,
  DEFAULT_SNAPSHOTS_KEPT,
  type PersistedSnapshot,
  type SaveSnapshotOptions,
  type LoadNewestOptions,
  type LoadedSnapshot,
  type SkippedSnapshot,
} from "./snap/index.js";
export * from "./api/index.js";
export * from "./client/index.js";
