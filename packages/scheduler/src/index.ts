/** @kubemu/scheduler: kube-scheduler's behaviour, leader-elected. */
export {};
export * from "./framework/node-info.js";
export * from "./framework/snapshot.js";
export * from "./framework/events.js";
export * from "./framework/labels.js";
export * from "./queue/scheduling-queue.js";
export type { NominatingInfo, PodLookup } from "./queue/nominator.js";
export { podKey } from "./queue/nominator.js";
export * from "./cache/cache.js";
export { CacheSnapshot } from "./cache/snapshot.js";
export { zoneKeyOf } from "./cache/node-tree.js";
