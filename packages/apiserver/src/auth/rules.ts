/**
 * RBAC policy rules: what one rule allows (upstream's rbac/v1 evaluation helpers and RuleAllows)
 * and whether one set of rules covers another (component-helpers' policy comparator, used by the
 * bootstrap reconcile and escalation checks). Pure functions over plain data.
 */
import type { RequestAttributes } from "./attributes.js";

/** rbac.authorization.k8s.io/v1 PolicyRule. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export const ALL = "*";

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);

/** The rules of a stored Role/ClusterRole; entries that are not rule-shaped are dropped (they grant nothing). */
export function rulesOf(obj: unknown): PolicyRule[] {
  const rules = (obj as { rules?: unknown } | undefined)?.rules;
  if (!Array.isArray(rules)) return [];
  const out: PolicyRule[] = [];
  for (const r of rules) {
    if (typeof r !== "object" || r === null) continue;
    const o = r as Record<string, unknown>;
    const rule: PolicyRule = { verbs: strings(o.verbs) };
    for (const k of ["apiGroups", "resources", "resourceNames", "nonResourceURLs"] as const) if (Array.isArray(o[k])) rule[k] = strings(o[k]);
    out.push(rule);
  }
  return out;
}

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => v === ALL || v === verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === ALL || g === group);
}

/** combined is `resource` or `resource/subresource`; a rule's `*\/sub` matches that subresource of any resource. */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string | undefined): boolean {
  return (rule.resources ?? []).some((r) => r === ALL || r === combined || (subresource !== undefined && subresource !== "" && r === `*/${subresource}`));
}

/** No resourceNames: every name (and requests naming none); otherwise the request must name one of them. */
export function resourceNameMatches(rule: PolicyRule, name: string | undefined): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name ?? "");
}

/** A trailing `*` matches any path with that prefix; `*` alone matches every path. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) => u === ALL || u === path || (u.endsWith("*") && path.startsWith(u.replace(/\*+$/, ""))));
}

/** Whether rule allows the request (upstream's RuleAllows). */
export function ruleAllows(attrs: RequestAttributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, attrs.verb)) return false;
  if (attrs.kind === "nonResource") return nonResourceURLMatches(rule, attrs.path);
  const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return apiGroupMatches(rule, attrs.group) && resourceMatches(rule, combined, attrs.subresource) && resourceNameMatches(rule, attrs.name);
}

/** Splits a rule into rules of one verb on one group/resource(/name), or one verb on one URL. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? [])
    for (const resource of rule.resources ?? [])
      for (const verb of rule.verbs) {
        if ((rule.resourceNames ?? []).length > 0) for (const name of rule.resourceNames!) out.push({ verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name] });
        else out.push({ verbs: [verb], apiGroups: [group], resources: [resource] });
      }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) out.push({ verbs: [verb], nonResourceURLs: [url] });
  return out;
}

const hasAll = (set: readonly string[], wanted: readonly string[]) => wanted.every((w) => set.includes(w));

function resourcesCover(owner: readonly string[], wanted: readonly string[]): boolean {
  if (owner.includes(ALL) || hasAll(owner, wanted)) return true;
  return wanted.every((r) => {
    if (owner.includes(r)) return true;
    const slash = r.indexOf("/");
    return slash !== -1 && owner.includes(`*/${r.slice(slash + 1)}`);
  });
}

function urlCovers(owner: string, sub: string): boolean {
  return owner === sub || (owner.endsWith("*") && sub.startsWith(owner.replace(/\*+$/, "")));
}

/** Whether owner covers sub (sub is usually one broken-down rule). */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  return (
    (owner.verbs.includes(ALL) || hasAll(owner.verbs, sub.verbs)) &&
    ((owner.apiGroups ?? []).includes(ALL) || hasAll(owner.apiGroups ?? [], sub.apiGroups ?? [])) &&
    resourcesCover(owner.resources ?? [], sub.resources ?? []) &&
    (sub.nonResourceURLs ?? []).every((u) => (owner.nonResourceURLs ?? []).some((o) => urlCovers(o, u))) &&
    (subNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, subNames))
  );
}

/** Whether owner rules cover every servant rule; the broken-down servant rules they do not cover. */
export function covers(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): { covered: boolean; missing: PolicyRule[] } {
  const missing = servant.flatMap(breakdownRule).filter((sub) => !owner.some((o) => ruleCovers(o, sub)));
  return { covered: missing.length === 0, missing };
}

/** Upstream's CompactString: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}` (Go's %q of a string slice). */
export function compactRuleString(rule: PolicyRule): string {
  const q = (list: readonly string[]) => `[${list.map((s) => JSON.stringify(s)).join(" ")}]`;
  const parts: string[] = [];
  if ((rule.apiGroups ?? []).length) parts.push(`APIGroups:${q(rule.apiGroups!)}`);
  if ((rule.resources ?? []).length) parts.push(`Resources:${q(rule.resources!)}`);
  if ((rule.nonResourceURLs ?? []).length) parts.push(`NonResourceURLs:${q(rule.nonResourceURLs!)}`);
  if ((rule.resourceNames ?? []).length) parts.push(`ResourceNames:${q(rule.resourceNames!)}`);
  if (rule.verbs.length) parts.push(`Verbs:${q(rule.verbs)}`);
  return `{${parts.join(", ")}}`;
}

/** Structural equality of two rules (field order and absent-vs-empty lists do not matter). */
export function sameRule(a: PolicyRule, b: PolicyRule): boolean {
  const eq = (x: readonly string[] | undefined, y: readonly string[] | undefined) => {
    const p = x ?? [];
    const q = y ?? [];
    return p.length === q.length && p.every((s, i) => s === q[i]);
  };
  return eq(a.verbs, b.verbs) && eq(a.apiGroups, b.apiGroups) && eq(a.resources, b.resources) && eq(a.resourceNames, b.resourceNames) && eq(a.nonResourceURLs, b.nonResourceURLs);
}
