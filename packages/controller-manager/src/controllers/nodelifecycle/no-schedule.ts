/**
 * TaintNodesByCondition (upstream's doNoScheduleTaintingPass): a node's conditions and
 * spec.unschedulable are mirrored as NoSchedule taints, so the scheduler keeps new pods off a
 * node that is not ready, under pressure, or cordoned; the taints go when the cause does.
 */
import type { Taint } from "kubernetes-types/core/v1.js";
import {
  TAINT_DISK_PRESSURE,
  TAINT_MEMORY_PRESSURE,
  TAINT_NETWORK_UNAVAILABLE,
  TAINT_NOT_READY,
  TAINT_PID_PRESSURE,
  TAINT_UNREACHABLE,
  TAINT_UNSCHEDULABLE,
  taintSetDiff,
  type NodeObject,
} from "../node-util/taints.js";

/** Condition type → status → the taint key it means (upstream's nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_PID_PRESSURE },
};

/** The taint keys this pass owns (taintKeyToNodeConditionMap plus unschedulable). */
const OWNED_KEYS = new Set([...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)), TAINT_UNSCHEDULABLE]);

/** The NoSchedule taints to add and remove so the node's taints say what its conditions say. */
export function noScheduleTaintChanges(node: NodeObject): { add: Taint[]; remove: Taint[] } {
  const wanted: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) wanted.push({ key, effect: "NoSchedule" });
  }
  if (node.spec?.unschedulable) wanted.push({ key: TAINT_UNSCHEDULABLE, effect: "NoSchedule" });
  const current = (node.spec?.taints ?? []).filter((t) => t.effect === "NoSchedule" && OWNED_KEYS.has(t.key));
  return taintSetDiff(wanted, current);
}
