/**
 * Zones and their health (upstream's component-helpers GetZoneKey and the node lifecycle
 * controller's ComputeZoneState / ReducedQPSFunc): the eviction rate of a zone follows how many
 * of its nodes are not Ready.
 */
import type { NodeCondition } from "kubernetes-types/core/v1.js";
import type { NodeObject } from "../node-util/taints.js";

export type ZoneState = "Initial" | "Normal" | "FullDisruption" | "PartialDisruption";

/** Nodes with this label are left out of zone health (upstream's labelNodeDisruptionExclusion). */
export const LABEL_EXCLUDE_DISRUPTION = "node.kubernetes.io/exclude-disruption";

/** "region:\0:zone" from the topology labels (the beta failure-domain ones as fallback); "" without either. */
export function zoneKey(node: NodeObject): string {
  const l = node.metadata.labels ?? {};
  const zone = l["topology.kubernetes.io/zone"] ?? l["failure-domain.beta.kubernetes.io/zone"] ?? "";
  const region = l["topology.kubernetes.io/region"] ?? l["failure-domain.beta.kubernetes.io/region"] ?? "";
  if (region === "" && zone === "") return "";
  return `${region}:\x00:${zone}`;
}

export function isExcludedFromDisruptionChecks(node: NodeObject): boolean {
  return Object.prototype.hasOwnProperty.call(node.metadata.labels ?? {}, LABEL_EXCLUDE_DISRUPTION);
}

/**
 * FullDisruption when no node of the zone is Ready, PartialDisruption when more than two are
 * not Ready and they make at least `unhealthyThreshold` of it, Normal otherwise; also the
 * number of not-Ready nodes.
 */
export function computeZoneState(readyConditions: readonly (NodeCondition | undefined)[], unhealthyThreshold: number): { unhealthy: number; state: ZoneState } {
  let ready = 0;
  let notReady = 0;
  for (const c of readyConditions) {
    if (c?.status === "True") ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return { unhealthy: notReady, state: "FullDisruption" };
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyThreshold) return { unhealthy: notReady, state: "PartialDisruption" };
  return { unhealthy: notReady, state: "Normal" };
}

/** The eviction rate of a zone in `state` of `size` nodes (HealthyQPSFunc / ReducedQPSFunc). */
export function zoneEvictionRate(state: ZoneState, size: number, o: { nodeEvictionRate: number; secondaryNodeEvictionRate: number; largeClusterSizeThreshold: number }): number {
  switch (state) {
    case "PartialDisruption":
      return size > o.largeClusterSizeThreshold ? o.secondaryNodeEvictionRate : 0;
    case "FullDisruption":
    case "Normal":
    case "Initial":
      return o.nodeEvictionRate;
  }
}
