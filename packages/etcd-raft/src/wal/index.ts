export type { Entry, HardState, SnapshotMarker, WalMetadata } from "./types.js";
export { EMPTY_HARD_STATE } from "./types.js";
export { WalError, WalCorruptError } from "./errors.js";
export { Wal, DEFAULT_SEGMENT_SIZE, type WalOptions, type WalStats } from "./wal.js";
export { readWal, type WalState, type WalRecovery, type TornTail, type ReadWalOptions } from "./reader.js";
