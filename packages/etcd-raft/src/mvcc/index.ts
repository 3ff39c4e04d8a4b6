/** MVCC key-value state machine (etcd v3 style) replicated by Raft. See README.md beside this file. */
export { prefixEnd, compareBytes, toBytes, type Bytes } from "./bytes.js";
export { MvccError, ErrCompacted, ErrFutureRev, isMvccError, type MvccErrorCode, type MvccErrorWire } from "./errors.js";
export { LeaseTracker, type LeaseTrackerOptions } from "./lease-tracker.js";
export { MvccStore, type MvccStoreOptions } from "./store.js";
export { DEFAULT_LIMITS, validateCommand, validateRange, type MvccLimits } from "./validate.js";
export { Watcher, type WatchFilter, type WatchMessage, type WatchOptions } from "./watch-hub.js";
export type * from "./types.js";
