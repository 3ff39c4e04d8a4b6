/** @kubemu/apiserver: the Kubernetes API server of kubemu. */
export { ApiServer, type ApiServerOptions } from "./apiserver.js";
export { builtinRegistry, Registry } from "./registry/registry.js";
export type { ResourceDef, TableColumn, FieldError } from "./registry/types.js";
export { ResourceStore, type WriteOptions, type ListQuery, type WatchQuery } from "./rest/store.js";
export { applyStrategicMergePatch } from "./patch/strategic.js";
export { applyMergePatch } from "./patch/merge-patch.js";
export { applyJsonPatch } from "./patch/json-patch.js";
export { SERVER_VERSION } from "./http/server.js";
export { httpComponentStatus, type ComponentTarget } from "./component-status.js";
export * from "./storage/index.js";
