export {};
export * from "./mvcc/index.js";
