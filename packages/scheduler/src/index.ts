/** @kubemu/scheduler: kube-scheduler's behaviour, leader-elected. */
export {};
export * from "./framework/node-info.js";
export * from "./framework/snapshot.js";
export * from "./framework/events.js";
export * from "./framework/labels.js";
