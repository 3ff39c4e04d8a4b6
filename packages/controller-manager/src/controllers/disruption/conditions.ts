/**
 * The PodDisruptionBudget's DisruptionAllowed condition (upstream's component-helpers
 * poddisruptionbudget helpers over apimachinery's meta.SetStatusCondition). The API server's
 * eviction handler keeps its own copy of the same rule (components do not share code with it).
 */
import type { Condition } from "kubernetes-types/meta/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import type { KubeObject } from "@kubemu/common";

export type PdbObject = PodDisruptionBudget & KubeObject;

export const DISRUPTION_ALLOWED = "DisruptionAllowed";
export const SUFFICIENT_PODS = "SufficientPods";
export const INSUFFICIENT_PODS = "InsufficientPods";
export const SYNC_FAILED = "SyncFailed";

/** Sets a condition in place (meta.SetStatusCondition): lastTransitionTime moves only when the status does. */
export function setStatusCondition(conditions: Condition[], next: Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string }, now: string): boolean {
  const cur = conditions.find((c) => c.type === next.type);
  if (!cur) {
    conditions.push({ ...next, lastTransitionTime: next.lastTransitionTime ?? now } as Condition);
    return true;
  }
  const c = cur as { status: string; lastTransitionTime: string; reason: string; message: string; observedGeneration?: number };
  let changed = false;
  if (c.status !== next.status) {
    c.status = next.status;
    c.lastTransitionTime = next.lastTransitionTime ?? now;
    changed = true;
  }
  if (c.reason !== next.reason) {
    c.reason = next.reason;
    changed = true;
  }
  if (c.message !== next.message) {
    c.message = next.message;
    changed = true;
  }
  if ((c.observedGeneration ?? 0) !== (next.observedGeneration ?? 0)) {
    if (next.observedGeneration) c.observedGeneration = next.observedGeneration;
    else delete c.observedGeneration;
    changed = true;
  }
  return changed;
}

/** DisruptionAllowed True/SufficientPods while disruptions are allowed, else False/InsufficientPods. */
export function updateDisruptionAllowedCondition(status: NonNullable<PdbObject["status"]>, now: string): void {
  const conditions = (status.conditions ?? ((status as { conditions?: Condition[] }).conditions = [])) as Condition[];
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  setStatusCondition(
    conditions,
    {
      type: DISRUPTION_ALLOWED,
      status: allowed ? "True" : "False",
      reason: allowed ? SUFFICIENT_PODS : INSUFFICIENT_PODS,
      message: "",
      ...(status.observedGeneration ? { observedGeneration: status.observedGeneration } : {}),
    },
    now,
  );
}

/** The condition says what the status says, for the current generation (ConditionsAreUpToDate). */
export function conditionsAreUpToDate(pdb: PdbObject): boolean {
  const cond = pdb.status?.conditions?.find((c) => c.type === DISRUPTION_ALLOWED);
  if (!cond) return false;
  if ((pdb.status?.observedGeneration ?? 0) !== (pdb.metadata.generation ?? 0)) return false;
  if ((pdb.status?.disruptionsAllowed ?? 0) > 0) return cond.status === "True" && cond.reason === SUFFICIENT_PODS;
  return cond.status === "False" && cond.reason === INSUFFICIENT_PODS;
}
