/** The apiserver's storage layer: the Storage contract, its KV backends, the watch cache. */
export type * from "./interface.js";
export {
  type KvBackend,
  type KvPair,
  type KvChange,
  type KvWatchBatch,
  type KvWriteResult,
  type KvRangeResult,
  type KvWatchOptions,
  KvCompactedError,
  KvFutureRevisionError,
} from "./kv.js";
export { MvccBackend } from "./mvcc-backend.js";
export { EtcdBackend } from "./etcd-backend.js";
export { KvStorage, planRead, RANGE_PAGE, type KvStorageOptions, type ResourceInfo } from "./kv-storage.js";
export { Cacher, type CacherOptions, type CacherStats } from "./cacher.js";
export { KvStorageFactory, startCompactor, COMPACTION_INTERVAL_MS, type KvStorageFactoryOptions, type ResourceSpec } from "./factory.js";
export { nameOfKey, tooLargeResourceVersion, type ResourceRef } from "./errors.js";
export { encodeContinue, decodeContinue, encodeRawList, mapListItems, type RawObject } from "./codec.js";
