/**
 * The selector default spreading uses for a pod (upstream's plugins/helper/spread.go
 * DefaultSelector): the union of the selectors of the Services that select the pod and of its
 * controlling ReplicationController, ReplicaSet or StatefulSet.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import type { LabelSelector as LabelSelectorObject } from "kubernetes-types/meta/v1.js";
import type { ClusterListers } from "../../framework/interface.js";
import { compileLabelMap, compileLabelSelector, type LabelMatcher } from "../../framework/labels.js";

/** A conjunction of matchers; `empty` when it has no requirement at all (upstream's Selector.Empty()). */
export interface SpreadSelector extends LabelMatcher {
  readonly empty: boolean;
  /** A canonical text of the requirements: equal keys select the same pods (for memoising counts). */
  readonly key: string;
}

/** The pod's controller reference (upstream's metav1.GetControllerOf). */
export function controllerOf(pod: Pod): { apiVersion: string; kind: string; name: string } | undefined {
  for (const o of pod.metadata?.ownerReferences ?? []) if (o.controller === true) return o;
  return undefined;
}

/** Builds DefaultSelector(pod) from the listers. */
export function defaultSelector(pod: Pod, listers: ClusterListers): SpreadSelector {
  const ns = pod.metadata?.namespace ?? "";
  const labels = pod.metadata?.labels;
  const merged: Record<string, string> = {};
  let requirements = 0;
  for (const svc of listers.services(ns)) {
    const sel = svc.spec?.selector;
    // A Service with a nil selector selects nothing, not everything.
    if (sel === undefined || sel === null) continue;
    if (!compileLabelMap(sel).matches(labels)) continue;
    for (const [k, v] of Object.entries(sel)) {
      if (!(k in merged)) requirements++;
      merged[k] = v;
    }
  }
  const parts: LabelMatcher[] = [];
  const owner = controllerOf(pod);
  let ownerSelector: LabelSelectorObject | undefined;
  if (owner !== undefined) {
    if (owner.apiVersion === "v1" && owner.kind === "ReplicationController") {
      const rc = listers.replicationController(ns, owner.name);
      for (const [k, v] of Object.entries(rc?.spec?.selector ?? {})) {
        if (!(k in merged)) requirements++;
        merged[k] = v;
      }
    } else if (owner.apiVersion === "apps/v1" && owner.kind === "ReplicaSet") {
      ownerSelector = listers.replicaSet(ns, owner.name)?.spec?.selector;
    } else if (owner.apiVersion === "apps/v1" && owner.kind === "StatefulSet") {
      ownerSelector = listers.statefulSet(ns, owner.name)?.spec?.selector;
    }
  }
  if (requirements > 0) parts.push(compileLabelMap(merged));
  if (ownerSelector !== undefined) {
    const m = compileLabelSelector(ownerSelector);
    const n = (ownerSelector.matchLabels ? Object.keys(ownerSelector.matchLabels).length : 0) + (ownerSelector.matchExpressions?.length ?? 0);
    if (n > 0) {
      parts.push(m);
      requirements += n;
    }
  }
  if (requirements === 0) return { matches: () => true, everything: true, nothing: false, empty: true, key: "" };
  const key = JSON.stringify([Object.entries(merged).sort(), ownerSelector ?? null]);
  if (parts.length === 1) return { ...parts[0]!, matches: parts[0]!.matches, empty: false, key };
  return {
    everything: false,
    nothing: false,
    empty: false,
    key,
    matches: (l) => parts.every((p) => p.matches(l)),
  };
}
