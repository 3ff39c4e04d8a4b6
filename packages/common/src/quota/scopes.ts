/**
 * ResourceQuota scopes over pods (upstream's podMatchesScopeFunc): Terminating /
 * NotTerminating (activeDeadlineSeconds), BestEffort / NotBestEffort (QoS class),
 * PriorityClass (a scopeSelector expression over the pod's priorityClassName) and
 * CrossNamespacePodAffinity. A quota's `spec.scopes` are `Exists` selectors, joined with its
 * `spec.scopeSelector.matchExpressions`.
 */
import { compareQuantities, quantitySign } from "../quantity/index.js";
import { labelSelectorOf, type LabelOperator } from "../selectors/labels.js";
import { containerResources, containersOf } from "./pod-resources.js";
import { addQuantity, type ResourceList, type SpecHolder } from "./resource-list.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** corev1.ScopedResourceSelectorRequirement. */
export interface ScopeSelector {
  scopeName: string;
  operator: string;
  values?: string[];
}

/** The selectors a quota's scopes and scopeSelector amount to (getScopeSelectorsFromQuota). */
export function quotaScopeSelectors(quota: SpecHolder): ScopeSelector[] {
  const spec = isObj(quota.spec) ? quota.spec : {};
  const out: ScopeSelector[] = [];
  for (const s of Array.isArray(spec.scopes) ? spec.scopes : []) if (typeof s === "string") out.push({ scopeName: s, operator: "Exists" });
  const sel = isObj(spec.scopeSelector) ? spec.scopeSelector : undefined;
  for (const e of Array.isArray(sel?.matchExpressions) ? sel.matchExpressions : []) {
    if (!isObj(e) || typeof e.scopeName !== "string") continue;
    out.push({ scopeName: e.scopeName, operator: String(e.operator ?? ""), ...(Array.isArray(e.values) ? { values: e.values.map(String) } : {}) });
  }
  return out;
}

/** The QoS classes' resources (isSupportedQoSComputeResource). */
const QOS_RESOURCES = new Set(["cpu", "memory"]);

/** ComputePodQOS: Guaranteed, Burstable or BestEffort from every container's positive cpu/memory requests and limits. */
export function computePodQOS(pod: SpecHolder): "Guaranteed" | "Burstable" | "BestEffort" {
  const requests: ResourceList = {};
  const limits: ResourceList = {};
  let guaranteed = true;
  for (const c of [...containersOf(pod.spec, "containers"), ...containersOf(pod.spec, "initContainers")]) {
    for (const [name, q] of Object.entries(containerResources(c, "requests"))) {
      if (QOS_RESOURCES.has(name) && quantitySign(q) > 0) requests[name] = requests[name] ? addQuantity(q, requests[name]) : q;
    }
    const limitsFound = new Set<string>();
    for (const [name, q] of Object.entries(containerResources(c, "limits"))) {
      if (!QOS_RESOURCES.has(name) || quantitySign(q) <= 0) continue;
      limitsFound.add(name);
      limits[name] = limits[name] ? addQuantity(q, limits[name]) : q;
    }
    if (!limitsFound.has("cpu") || !limitsFound.has("memory")) guaranteed = false;
  }
  if (Object.keys(requests).length === 0 && Object.keys(limits).length === 0) return "BestEffort";
  if (guaranteed) for (const [name, req] of Object.entries(requests)) if (!limits[name] || compareQuantities(limits[name], req) !== 0) guaranteed = false;
  return guaranteed && Object.keys(requests).length === Object.keys(limits).length ? "Guaranteed" : "Burstable";
}

/** GetPodQOS: the class the API server recorded in status, else computed. */
export function podQOS(pod: SpecHolder): string {
  const recorded = isObj(pod.status) ? pod.status.qosClass : undefined;
  return typeof recorded === "string" && recorded !== "" ? recorded : computePodQOS(pod);
}

/** A pod with an activeDeadlineSeconds ≥ 0 counts as Terminating. */
export function isTerminatingPod(pod: SpecHolder): boolean {
  const d = isObj(pod.spec) ? pod.spec.activeDeadlineSeconds : undefined;
  return typeof d === "number" && d >= 0;
}

const SELECTOR_OPS: Record<string, LabelOperator> = { In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" };

/** ScopedResourceSelectorRequirementsAsSelector, matched against `{<scope>: value}` (no value: no labels). */
export function scopeSelectorMatches(selector: ScopeSelector, value: string | undefined): boolean {
  const op = SELECTOR_OPS[selector.operator];
  if (!op) throw new Error(`"${selector.operator}" is not a valid scope selector operator`);
  const labels: Record<string, string> = value ? { [selector.scopeName]: value } : {};
  return labelSelectorOf([{ key: selector.scopeName, op, values: selector.values ?? [] }]).matches(labels);
}

function crossNamespaceTerms(terms: unknown, weighted: boolean): boolean {
  if (!Array.isArray(terms)) return false;
  return terms.some((t) => {
    const term = weighted && isObj(t) ? t.podAffinityTerm : t;
    return isObj(term) && ((Array.isArray(term.namespaces) && term.namespaces.length > 0) || (term.namespaceSelector !== undefined && term.namespaceSelector !== null));
  });
}

/** usesCrossNamespacePodAffinity: an affinity or anti-affinity term naming namespaces or a namespace selector. */
export function usesCrossNamespacePodAffinity(pod: SpecHolder): boolean {
  const affinity = isObj(pod.spec) && isObj(pod.spec.affinity) ? pod.spec.affinity : undefined;
  if (!affinity) return false;
  return [affinity.podAffinity, affinity.podAntiAffinity].some(
    (a) => isObj(a) && (crossNamespaceTerms(a.requiredDuringSchedulingIgnoredDuringExecution, false) || crossNamespaceTerms(a.preferredDuringSchedulingIgnoredDuringExecution, true)),
  );
}

/** podMatchesScopeFunc. Throws on a selector that cannot be evaluated. */
export function podMatchesScope(selector: ScopeSelector, pod: SpecHolder): boolean {
  switch (selector.scopeName) {
    case "Terminating":
      return isTerminatingPod(pod);
    case "NotTerminating":
      return !isTerminatingPod(pod);
    case "BestEffort":
      return podQOS(pod) === "BestEffort";
    case "NotBestEffort":
      return podQOS(pod) !== "BestEffort";
    case "PriorityClass": {
      const pc = isObj(pod.spec) && typeof pod.spec.priorityClassName === "string" ? pod.spec.priorityClassName : "";
      if (selector.operator === "Exists") return pc !== "";
      return scopeSelectorMatches(selector, pc || undefined);
    }
    case "CrossNamespacePodAffinity":
      return usesCrossNamespacePodAffinity(pod);
    default:
      return false;
  }
}
