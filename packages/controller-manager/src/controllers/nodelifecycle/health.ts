/**
 * What the node lifecycle controller remembers of each node's heartbeats, and how it judges
 * them (upstream's nodeHealthData and tryUpdateNodeHealth): a heartbeat is a change of the Ready
 * condition's lastHeartbeatTime or a newer renewTime on the node's Lease, timed by this
 * controller's own clock (never by the timestamps in the objects, which another machine wrote).
 * After the grace period without one, Ready, MemoryPressure, DiskPressure and PIDPressure become
 * Unknown.
 */
import type { Lease } from "kubernetes-types/coordination/v1.js";
import type { NodeCondition, NodeStatus } from "kubernetes-types/core/v1.js";
import type { KubeObject } from "@kubemu/common";
import { nodeCondition } from "../node-util/conditions.js";
import { rfc3339, type NodeObject } from "../node-util/taints.js";

export type LeaseObject = Lease & KubeObject;

export interface NodeHealth {
  /** When this controller last saw a heartbeat (ms, its clock). */
  probeTimestamp: number;
  /** When this controller last saw the Ready condition change. */
  readyTransitionTimestamp: number;
  status: NodeStatus | undefined;
  lease: LeaseObject | undefined;
}

/** The conditions whose values only the kubelet knows; NetworkUnavailable is the network plugin's and stays. */
const KUBELET_CONDITIONS = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

export interface Assessment {
  /** The health to remember (before any write). */
  health: NodeHealth;
  /** The Ready condition as the node had it (a made-up Unknown one when it never had any). */
  observedReady: NodeCondition;
  /** The Ready condition after this assessment (undefined: the node has none). */
  currentReady: NodeCondition | undefined;
  /** Set when the node's status must be written: `node` with the Unknown conditions. */
  write: boolean;
}

export interface GracePeriods {
  monitorGraceMs: number;
  startupGraceMs: number;
}

function microTime(s: string | undefined | null): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** lease.spec.renewTime strictly later than saved's (a missing time is never later, as MicroTime.Before). */
function renewedSince(saved: LeaseObject | undefined, observed: LeaseObject): boolean {
  if (!saved) return true;
  const a = microTime(saved.spec?.renewTime);
  const b = microTime(observed.spec?.renewTime);
  return a !== undefined && b !== undefined && a < b;
}

/**
 * Judges `node` (a copy this function may change: the Unknown conditions go into its status)
 * against what was remembered and the node's Lease, at `now`.
 */
export function assessNodeHealth(node: NodeObject, saved: NodeHealth | undefined, lease: LeaseObject | undefined, now: number, grace: GracePeriods): Assessment {
  const created = microTime(node.metadata.creationTimestamp) ?? now;
  // The status kubernetes-types marks read-only is this copy's to change.
  const status: NodeStatus = node.status ?? ((node as { status?: NodeStatus }).status = {});
  let currentReady = nodeCondition(status, "Ready");
  let observedReady: NodeCondition;
  let gracePeriod: number;
  let health = saved ? { ...saved } : undefined;
  if (!currentReady) {
    // Never posted: judge it from its creation, with the longer startup grace.
    observedReady = { type: "Ready", status: "Unknown", lastHeartbeatTime: node.metadata.creationTimestamp, lastTransitionTime: node.metadata.creationTimestamp };
    gracePeriod = grace.startupGraceMs;
    if (health) health.status = status;
    else health = { status, probeTimestamp: created, readyTransitionTimestamp: created, lease: undefined };
  } else {
    observedReady = { ...currentReady };
    gracePeriod = grace.monitorGraceMs;
  }
  const savedReady = nodeCondition(saved?.status, "Ready");
  const savedLease = saved?.lease;
  if (!health) {
    health = { status, probeTimestamp: now, readyTransitionTimestamp: now, lease: undefined };
  } else if (!savedReady && currentReady) {
    // First look at a node that already had status (this controller just started).
    health = { status, probeTimestamp: now, readyTransitionTimestamp: now, lease: undefined };
  } else if (savedReady && !currentReady) {
    health = { status, probeTimestamp: now, readyTransitionTimestamp: now, lease: undefined };
  } else if (savedReady && currentReady && (savedReady.lastHeartbeatTime ?? "") !== (currentReady.lastHeartbeatTime ?? "")) {
    const transition = (savedReady.lastTransitionTime ?? "") !== (currentReady.lastTransitionTime ?? "") ? now : health.readyTransitionTimestamp;
    health = { status, probeTimestamp: now, readyTransitionTimestamp: transition, lease: undefined };
  }
  // Every renewal counts, even from a kubelet that never posted status.
  if (lease && renewedSince(savedLease, lease)) {
    health.lease = lease;
    health.probeTimestamp = now;
  } else if (health.lease === undefined && savedLease) health.lease = savedLease;

  let write = false;
  if (now > health.probeTimestamp + gracePeriod) {
    const stamp = rfc3339(now);
    const conditions = status.conditions ?? (status.conditions = []);
    for (const type of KUBELET_CONDITIONS) {
      const c = conditions.find((x) => x.type === type);
      if (!c) {
        conditions.push({ type, status: "Unknown", reason: "NodeStatusNeverUpdated", message: "Kubelet never posted node status.", lastHeartbeatTime: node.metadata.creationTimestamp, lastTransitionTime: stamp });
      } else if (c.status !== "Unknown") {
        c.status = "Unknown";
        c.reason = "NodeStatusUnknown";
        c.message = "Kubelet stopped posting node status.";
        c.lastTransitionTime = stamp;
      }
    }
    currentReady = nodeCondition(status, "Ready");
    write = !sameCondition(currentReady, observedReady);
  }
  return { health, observedReady, currentReady, write };
}

function sameCondition(a: NodeCondition | undefined, b: NodeCondition): boolean {
  if (!a) return false;
  return (
    a.type === b.type &&
    a.status === b.status &&
    (a.reason ?? "") === (b.reason ?? "") &&
    (a.message ?? "") === (b.message ?? "") &&
    (a.lastHeartbeatTime ?? "") === (b.lastHeartbeatTime ?? "") &&
    (a.lastTransitionTime ?? "") === (b.lastTransitionTime ?? "")
  );
}
