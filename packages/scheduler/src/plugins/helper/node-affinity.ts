/**
 * Node selectors as component-helpers' scheduling/corev1/nodeaffinity matches them: terms are
 * ORed, a term's expressions and fields ANDed; an empty term selects nothing; a term with an
 * invalid requirement (a Gt value that is not an integer, an unknown operator, a field other than
 * metadata.name) never matches — upstream ignores such parse errors the same way.
 */
import type { Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm } from "kubernetes-types/core/v1.js";

type LabelTest = (labels: Readonly<Record<string, string>>) => boolean;

const INT_RE = /^[+-]?\d+$/;

function labelValue(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  const v = labels[key];
  return v !== undefined && Object.prototype.hasOwnProperty.call(labels, key) ? v : undefined;
}

/** One matchExpressions requirement, or undefined if it cannot be parsed. */
function compileRequirement(r: NodeSelectorRequirement): LabelTest | undefined {
  const values = r.values ?? [];
  const key = r.key;
  switch (r.operator) {
    case "In":
      if (values.length === 0) return undefined;
      return (l) => {
        const v = labelValue(l, key);
        return v !== undefined && values.includes(v);
      };
    case "NotIn":
      if (values.length === 0) return undefined;
      return (l) => {
        const v = labelValue(l, key);
        return v === undefined || !values.includes(v);
      };
    case "Exists":
      if (values.length !== 0) return undefined;
      return (l) => labelValue(l, key) !== undefined;
    case "DoesNotExist":
      if (values.length !== 0) return undefined;
      return (l) => labelValue(l, key) === undefined;
    case "Gt":
    case "Lt": {
      if (values.length !== 1 || !INT_RE.test(values[0]!)) return undefined;
      const bound = BigInt(values[0]!);
      const gt = r.operator === "Gt";
      return (l) => {
        const v = labelValue(l, key);
        if (v === undefined || !INT_RE.test(v)) return false;
        const n = BigInt(v);
        return gt ? n > bound : n < bound;
      };
    }
    default:
      return undefined;
  }
}

type NodeTest = (node: Node) => boolean;

/** A term, or undefined when it selects nothing (empty or unparseable). */
function compileTerm(t: NodeSelectorTerm): NodeTest | undefined {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return undefined;
  const labelTests: LabelTest[] = [];
  for (const e of exprs) {
    const test = compileRequirement(e);
    if (test === undefined) return undefined;
    labelTests.push(test);
  }
  const nameTests: ((name: string) => boolean)[] = [];
  for (const f of fields) {
    const values = f.values ?? [];
    if (f.key !== "metadata.name" || values.length !== 1) return undefined;
    const want = values[0]!;
    if (f.operator === "In") nameTests.push((n) => n === want);
    else if (f.operator === "NotIn") nameTests.push((n) => n !== want);
    else return undefined;
  }
  return (node) => {
    const labels = node.metadata?.labels ?? {};
    for (const t of labelTests) if (!t(labels)) return false;
    const name = node.metadata?.name ?? "";
    for (const t of nameTests) if (!t(name)) return false;
    return true;
  };
}

/** A compiled NodeSelector (terms ORed). */
export interface NodeSelectorMatcher {
  match(node: Node): boolean;
}

/** Compiles a NodeSelector; a selector with no usable term matches no node. */
export function compileNodeSelector(ns: NodeSelector): NodeSelectorMatcher {
  const terms: NodeTest[] = [];
  for (const t of ns.nodeSelectorTerms ?? []) {
    const c = compileTerm(t);
    if (c !== undefined) terms.push(c);
  }
  return {
    match(node) {
      for (const t of terms) if (t(node)) return true;
      return false;
    },
  };
}

/** True if node labels (only) satisfy the terms, as upstream's CheckNodeAffinity for PVs (no node name). */
export function matchNodeSelectorTermsLabels(ns: NodeSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  return compileNodeSelector(ns).match({ metadata: { labels: labels ?? {} } });
}

/**
 * A pod's required node placement: spec.nodeSelector (every pair must match) AND the required
 * node affinity (upstream's nodeaffinity.RequiredNodeAffinity).
 */
export interface RequiredNodeAffinity {
  match(node: Node): boolean;
}

/** Builds the pod's RequiredNodeAffinity (upstream's GetRequiredNodeAffinity). */
export function requiredNodeAffinityOf(pod: Pod): RequiredNodeAffinity {
  const selector = Object.entries(pod.spec?.nodeSelector ?? {});
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = required !== undefined ? compileNodeSelector(required) : undefined;
  if (selector.length === 0 && terms === undefined) return MATCH_ALL;
  return {
    match(node) {
      if (selector.length > 0) {
        const labels = node.metadata?.labels ?? {};
        for (const [k, v] of selector) if (labelValue(labels, k) !== v) return false;
      }
      return terms === undefined || terms.match(node);
    },
  };
}

const MATCH_ALL: RequiredNodeAffinity = { match: () => true };

/** True if the pod has neither a nodeSelector nor required node affinity (its RequiredNodeAffinity admits every node). */
export function admitsEveryNode(r: RequiredNodeAffinity): boolean {
  return r === MATCH_ALL;
}

/** Preferred terms with weights (upstream's PreferredSchedulingTerms): Score = sum of matching weights. */
export interface PreferredSchedulingTerms {
  score(node: Node): number;
}

/** Compiles preferred terms; zero-weight and empty terms are dropped, as upstream. */
export function compilePreferredTerms(terms: readonly PreferredSchedulingTerm[]): PreferredSchedulingTerms {
  const compiled: { weight: number; test: NodeTest }[] = [];
  for (const t of terms) {
    if (t.weight === 0) continue;
    const test = compileTerm(t.preference);
    if (test !== undefined) compiled.push({ weight: t.weight, test });
  }
  return {
    score(node) {
      let s = 0;
      for (const c of compiled) if (c.test(node)) s += c.weight;
      return s;
    },
  };
}
