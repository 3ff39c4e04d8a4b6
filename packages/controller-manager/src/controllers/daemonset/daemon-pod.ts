/**
 * Daemon pods and their templates (upstream's pkg/controller/daemon/util): the tolerations every
 * daemon pod gets, the labels that say which revision made a pod, the node affinity term that
 * pins a pod to its node for the scheduler, and reading that node back.
 */
import type { DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Affinity, NodeSelectorRequirement, Pod, PodSpec, PodTemplateSpec, Toleration } from "kubernetes-types/core/v1.js";
import type { KubeObject } from "@kubemu/common";
import { scaledValueFromIntOrPercent } from "../../controller/int-or-percent.js";

export type DaemonSetObject = DaemonSet & KubeObject;

/** apps/v1 DefaultDaemonSetUniqueLabelKey (= ControllerRevisionHashLabelKey). */
export const REVISION_HASH_LABEL = "controller-revision-hash";
/** extensions/v1beta1 DaemonSetTemplateGenerationKey. */
export const TEMPLATE_GENERATION_LABEL = "pod-template-generation";
/** apps/v1 DeprecatedTemplateGeneration: the API server keeps spec.templateGeneration here. */
export const TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation";

/** The template generation the API server recorded, if any (upstream's GetTemplateGeneration: a bad value counts as none). */
export function templateGeneration(ds: DaemonSetObject): number | undefined {
  const a = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  if (a === undefined || !/^[+-]?\d+$/.test(a)) return undefined;
  return Number(a);
}

/**
 * Tolerations every daemon pod carries (upstream's AddOrUpdateDaemonPodTolerations): node
 * problems must not evict or block a node's own daemons. not-ready and unreachable have no
 * tolerationSeconds, so the taint manager never evicts them.
 */
export function daemonTolerations(spec: PodSpec): Toleration[] {
  const t: Toleration[] = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
  ];
  if (spec.hostNetwork) t.push({ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" });
  return t;
}

/** Same key, operator, value and effect (upstream's Toleration.MatchToleration). */
function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? "") === (b.key ?? "") && (a.operator ?? "") === (b.operator ?? "") && (a.value ?? "") === (b.value ?? "") && (a.effect ?? "") === (b.effect ?? "");
}

/** Adds each toleration, replacing a matching one in place (upstream's AddOrUpdateTolerationInPodSpec). Mutates spec. */
export function addDaemonTolerations(spec: PodSpec): void {
  const tolerations = [...(spec.tolerations ?? [])];
  for (const want of daemonTolerations(spec)) {
    const i = tolerations.findIndex((t) => sameToleration(t, want));
    if (i === -1) tolerations.push(want);
    else tolerations[i] = want;
  }
  spec.tolerations = tolerations;
}

/** The template daemon pods are made from: the DaemonSet's, plus tolerations and revision labels (upstream's CreatePodTemplate). */
export function daemonPodTemplate(template: PodTemplateSpec, generation: number | undefined, hash: string): PodTemplateSpec {
  const t = structuredClone(template);
  t.spec = t.spec ?? { containers: [] };
  addDaemonTolerations(t.spec);
  t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}) } };
  if (generation !== undefined) t.metadata.labels![TEMPLATE_GENERATION_LABEL] = String(generation);
  if (hash) t.metadata.labels![REVISION_HASH_LABEL] = hash;
  return t;
}

/**
 * The affinity with its required node affinity replaced by one term, `metadata.name In [node]`
 * (upstream's ReplaceDaemonSetPodNodeNameNodeAffinity): the scheduler binds the pod there.
 * Preferred terms and pod (anti-)affinity are kept.
 */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const required = { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] }] };
  const a = structuredClone(affinity ?? {});
  a.nodeAffinity = { ...(a.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: required };
  return a;
}

/**
 * The node a daemon pod is for: spec.nodeName once bound, else the `metadata.name In [x]` term
 * it was created with (upstream's GetTargetNodeName); undefined when it has neither.
 */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of (term.matchFields ?? []) as NodeSelectorRequirement[]) {
      if (f.key !== "metadata.name" || f.operator !== "In") continue;
      return f.values?.length === 1 ? f.values[0] : undefined;
    }
  }
  return undefined;
}

/** The pod was made from the current revision: its hash label, or (older pods) its template generation (upstream's IsPodUpdated). */
export function isPodUpdated(pod: Pod, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  const generationMatches = generation !== undefined && labels[TEMPLATE_GENERATION_LABEL] === String(generation);
  const hashMatches = hash.length > 0 && labels[REVISION_HASH_LABEL] === hash;
  return hashMatches || generationMatches;
}

function rollingUpdateOf(ds: DaemonSetObject) {
  return ds.spec?.updateStrategy?.type === "RollingUpdate" ? ds.spec.updateStrategy.rollingUpdate : undefined;
}

/** maxSurge out of `numberToSchedule`; 0 unless RollingUpdate asks for it (upstream's SurgeCount). Throws on a bad percentage. */
export function surgeCount(ds: DaemonSetObject, numberToSchedule: number): number {
  const r = rollingUpdateOf(ds);
  if (r?.maxSurge === undefined || r.maxSurge === null) return 0;
  return scaledValueFromIntOrPercent(r.maxSurge, numberToSchedule, true);
}

/** maxUnavailable out of `numberToSchedule`; 0 unless RollingUpdate (upstream's UnavailableCount). Throws on a bad value. */
export function unavailableCount(ds: DaemonSetObject, numberToSchedule: number): number {
  const r = rollingUpdateOf(ds);
  if (!r) return 0;
  return scaledValueFromIntOrPercent(r.maxUnavailable, numberToSchedule, true);
}

/** More than one pod per node is allowed during an update (upstream's AllowsSurge). */
export function allowsSurge(ds: DaemonSetObject): boolean {
  try {
    return surgeCount(ds, 1) > 0;
  } catch {
    return false;
  }
}

/** Bound pods first, then oldest first, then by name (upstream's podByCreationTimestampAndPhase). */
export function byCreationTimestampAndPhase(a: Pod, b: Pod): number {
  const aBound = !!a.spec?.nodeName;
  const bBound = !!b.spec?.nodeName;
  if (aBound !== bBound) return aBound ? -1 : 1;
  const at = Date.parse(a.metadata?.creationTimestamp ?? "") || 0;
  const bt = Date.parse(b.metadata?.creationTimestamp ?? "") || 0;
  if (at !== bt) return at - bt;
  const an = a.metadata?.name ?? "";
  const bn = b.metadata?.name ?? "";
  return an < bn ? -1 : an > bn ? 1 : 0;
}
