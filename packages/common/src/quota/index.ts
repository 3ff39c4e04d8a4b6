/**
 * Resource quota accounting shared by the API server's ResourceQuota admission plugin and the
 * controller-manager's resourcequota controller (upstream's k8s.io/apiserver/pkg/quota/v1 and
 * pkg/quota/v1/evaluator/core): resource-list arithmetic, pod requests and limits, quota
 * scopes, the per-resource evaluators, and the full recount of a quota's usage.
 */
export * from "./resource-list.js";
export * from "./pod-resources.js";
export * from "./scopes.js";
export * from "./evaluators.js";
export * from "./calculate.js";
