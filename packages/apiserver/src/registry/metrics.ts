/**
 * metrics.k8s.io/v1beta1, served by the API servers themselves where a real cluster runs
 * metrics-server behind the aggregator: read-only kinds computed from the kubelets on each read
 * (resource-metrics/metrics.ts).
 */
import type { ResourceDef } from "./types.js";
import { computeNodeMetrics, computePodMetrics, metricsNotFound } from "../resource-metrics/metrics.js";

const metrics = { group: "metrics.k8s.io", version: "v1beta1", verbs: ["get", "list"], readOnly: true } as const;

export const metricsResources: ResourceDef[] = [
  { ...metrics, kind: "NodeMetrics", plural: "nodes", singular: "", namespaced: false, compute: (ctx) => computeNodeMetrics(ctx), notFound: metricsNotFound("nodemetrics") },
  { ...metrics, kind: "PodMetrics", plural: "pods", singular: "", namespaced: true, compute: (ctx, ns) => computePodMetrics(ctx, ns), notFound: metricsNotFound("podmetrics") },
];
