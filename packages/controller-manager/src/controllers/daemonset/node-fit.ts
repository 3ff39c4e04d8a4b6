/**
 * Whether a node should run a DaemonSet's pod (upstream's NodeShouldRunDaemonPod and
 * predicates): the template's nodeName, nodeSelector and required node affinity must match the
 * node, and its taints must be tolerated — by the template's tolerations plus the daemon
 * tolerations every daemon pod gets. A NoSchedule taint only keeps new pods off; a pod already
 * there keeps running unless a NoExecute taint is not tolerated.
 *
 * The node matching follows component-helpers' nodeaffinity (the scheduler has its own copy;
 * components do not import each other); toleration matching is the node controllers' shared
 * toleratesTaint (node-util/taints.ts).
 */
import type { Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration } from "kubernetes-types/core/v1.js";
import { toleratesTaint } from "@kubemu/common";
import { addDaemonTolerations, type DaemonSetObject } from "./daemon-pod.js";

export interface NodeFit {
  /** A daemon pod should be created here if there is none. */
  shouldRun: boolean;
  /** A daemon pod already here may stay. */
  shouldContinueRunning: boolean;
}

const INT_RE = /^[+-]?\d+$/;

function has(labels: Record<string, string>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

/** One matchExpressions requirement; undefined when it cannot be parsed (the term then matches nothing). */
function requirementMatches(r: NodeSelectorRequirement, labels: Record<string, string>): boolean | undefined {
  const values = r.values ?? [];
  const present = has(labels, r.key);
  const v = present ? labels[r.key]! : undefined;
  switch (r.operator) {
    case "In":
      return values.length === 0 ? undefined : present && values.includes(v!);
    case "NotIn":
      return values.length === 0 ? undefined : !present || !values.includes(v!);
    case "Exists":
      return values.length !== 0 ? undefined : present;
    case "DoesNotExist":
      return values.length !== 0 ? undefined : !present;
    case "Gt":
    case "Lt": {
      if (values.length !== 1 || !INT_RE.test(values[0]!)) return undefined;
      if (!present || !INT_RE.test(v!)) return false;
      const n = BigInt(v!);
      const bound = BigInt(values[0]!);
      return r.operator === "Gt" ? n > bound : n < bound;
    }
    default:
      return undefined;
  }
}

/** A term ANDs its expressions and fields; an empty or unparseable term matches nothing. */
function termMatches(t: NodeSelectorTerm, node: Node): boolean {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const e of exprs) if (requirementMatches(e, labels) !== true) return false;
  for (const f of fields) {
    const values = f.values ?? [];
    if (f.key !== "metadata.name" || values.length !== 1) return false;
    const same = (node.metadata?.name ?? "") === values[0];
    if (f.operator === "In" ? !same : f.operator === "NotIn" ? same : true) return false;
  }
  return true;
}

/** Terms are ORed. */
export function nodeSelectorMatches(sel: NodeSelector, node: Node): boolean {
  return (sel.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
}

/** spec.nodeSelector and the required node affinity both match (upstream's GetRequiredNodeAffinity(pod).Match). */
export function requiredNodeAffinityMatches(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (!has(labels, k) || labels[k] !== v) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required === undefined || required === null || nodeSelectorMatches(required, node);
}

/** The first taint passing `filter` that no toleration tolerates (upstream's FindMatchingUntoleratedTaint). */
export function untoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], filter: (t: Taint) => boolean): Taint | undefined {
  return taints.find((taint) => filter(taint) && !tolerations.some((t) => toleratesTaint(t, taint)));
}

/** The pod spec a DaemonSet would run on a node: its template's, with the daemon tolerations (upstream's NewPod). */
export function daemonPodSpec(ds: DaemonSetObject): PodSpec {
  const spec = structuredClone(ds.spec?.template?.spec ?? { containers: [] });
  addDaemonTolerations(spec);
  return spec;
}

const NEVER: NodeFit = { shouldRun: false, shouldContinueRunning: false };

/** upstream's NodeShouldRunDaemonPod; `spec` may be passed in when judging many nodes for one DaemonSet. */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSetObject, spec: PodSpec = daemonPodSpec(ds)): NodeFit {
  const wantNode = ds.spec?.template?.spec?.nodeName;
  if (wantNode && wantNode !== node.metadata?.name) return NEVER;
  if (!requiredNodeAffinityMatches(spec, node)) return NEVER;
  const taints = node.spec?.taints ?? [];
  const tolerations = spec.tolerations ?? [];
  const blocking = untoleratedTaint(taints, tolerations, (t) => t.effect === "NoSchedule" || t.effect === "NoExecute");
  if (!blocking) return { shouldRun: true, shouldContinueRunning: true };
  // A pod already there keeps running unless an untolerated NoExecute taint would evict it.
  const evicting = untoleratedTaint(taints, tolerations, (t) => t.effect === "NoExecute");
  return { shouldRun: false, shouldContinueRunning: evicting === undefined };
}
