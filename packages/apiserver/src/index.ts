/** @kubemu/apiserver: the Kubernetes API server of kubemu. */
export { ApiServer, type ApiServerOptions } from "./apiserver.js";
export { builtinRegistry, Registry } from "./registry/registry.js";
export type { ResourceDef, TableColumn, FieldError } from "./registry/types.js";
export { ResourceStore, type PatchType, type WriteOptions, type ListQuery, type WatchQuery } from "./rest/store.js";
export { parseLabelSelector, selectorFromObject, type LabelSelector } from "./selectors/labels.js";
export { parseFieldSelector, type FieldSelector } from "./selectors/fields.js";
export { applyStrategicMergePatch } from "./patch/strategic.js";
export { applyMergePatch } from "./patch/merge-patch.js";
export { applyJsonPatch } from "./patch/json-patch.js";
export { SERVER_VERSION } from "./http/server.js";
export { httpComponentStatus, type ComponentTarget } from "./component-status.js";
export type { ResourceParams } from "./internal/wire-api.js";
export * from "./storage/index.js";
