/**
 * rbac.authorization.k8s.io/v1 defaulting and validation (upstream's pkg/apis/rbac/v1 defaults
 * and pkg/apis/rbac/validation): rules need verbs and either resources with API groups or
 * non-resource URLs (cluster roles only); a roleRef names a Role or ClusterRole of this group and
 * never changes; subjects are Users, Groups (of this group) or ServiceAccounts (of the core
 * group, with a namespace in cluster bindings). Unknown verbs and roleRefs to roles that do not
 * exist are accepted, as upstream: they simply grant nothing.
 */
import type { KubeObject } from "../storage/index.js";
import type { FieldError } from "../registry/types.js";
import { invalid, notSupported } from "./fields.js";

const RBAC_GROUP = "rbac.authorization.k8s.io";
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const len = (v: unknown) => (Array.isArray(v) ? v.length : 0);
const requiredBecause = (field: string, detail: string): FieldError => ({ reason: "FieldValueRequired", field, message: detail ? `Required value: ${detail}` : "Required value" });

/** Subjects' and roleRef's API groups, as upstream's SetDefaults_Subject / SetDefaults_*Binding. */
export function defaultBinding(obj: KubeObject): void {
  if (isObj(obj.roleRef) && (obj.roleRef.apiGroup === undefined || obj.roleRef.apiGroup === "")) obj.roleRef.apiGroup = RBAC_GROUP;
  if (!Array.isArray(obj.subjects)) return;
  for (const s of obj.subjects) {
    if (!isObj(s) || (s.apiGroup !== undefined && s.apiGroup !== "")) continue;
    if (s.kind === "User" || s.kind === "Group") s.apiGroup = RBAC_GROUP;
    else if (s.kind === "ServiceAccount") s.apiGroup = "";
  }
}

function validateRules(obj: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const rules = Array.isArray(obj.rules) ? obj.rules : [];
  rules.forEach((r: unknown, i) => {
    const at = `rules[${i}]`;
    const rule = isObj(r) ? r : {};
    if (len(rule.verbs) === 0) errs.push(requiredBecause(`${at}.verbs`, "verbs must contain at least one value"));
    if (len(rule.nonResourceURLs) > 0) {
      if (namespaced) errs.push(invalid(`${at}.nonResourceURLs`, rule.nonResourceURLs, "namespaced rules cannot apply to non-resource URLs"));
      if (len(rule.apiGroups) > 0 || len(rule.resources) > 0 || len(rule.resourceNames) > 0)
        errs.push(invalid(`${at}.nonResourceURLs`, rule.nonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"));
      return;
    }
    if (len(rule.apiGroups) === 0) errs.push(requiredBecause(`${at}.apiGroups`, "resource rules must supply at least one api group"));
    if (len(rule.resources) === 0) errs.push(requiredBecause(`${at}.resources`, "resource rules must supply at least one resource"));
  });
  return errs;
}

export const validateRole = (obj: KubeObject): FieldError[] => validateRules(obj, true);

export function validateClusterRole(obj: KubeObject): FieldError[] {
  const errs = validateRules(obj, false);
  if (obj.aggregationRule !== undefined && obj.aggregationRule !== null) {
    const selectors = isObj(obj.aggregationRule) ? obj.aggregationRule.clusterRoleSelectors : undefined;
    if (len(selectors) === 0) errs.push(requiredBecause("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil"));
  }
  return errs;
}

function pathSegmentName(name: string): string | undefined {
  if (name === "." || name === "..") return `may not be '${name}'`;
  if (name.includes("/") || name.includes("%")) return "may not contain '/' or '%'";
  return undefined;
}

function validateBinding(obj: KubeObject, namespaced: boolean, old?: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const ref = isObj(obj.roleRef) ? obj.roleRef : {};
  if (ref.apiGroup !== RBAC_GROUP) errs.push(notSupported("roleRef.apiGroup", ref.apiGroup ?? "", [RBAC_GROUP]));
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(ref.kind as string)) errs.push(notSupported("roleRef.kind", ref.kind ?? "", kinds));
  if (typeof ref.name !== "string" || ref.name === "") errs.push(requiredBecause("roleRef.name", ""));
  else {
    const e = pathSegmentName(ref.name);
    if (e) errs.push(invalid("roleRef.name", ref.name, e));
  }
  const subjects = Array.isArray(obj.subjects) ? obj.subjects : [];
  subjects.forEach((raw: unknown, i) => {
    const at = `subjects[${i}]`;
    const s = isObj(raw) ? raw : {};
    if (typeof s.name !== "string" || s.name === "") errs.push(requiredBecause(`${at}.name`, ""));
    switch (s.kind) {
      case "ServiceAccount":
        if (typeof s.apiGroup === "string" && s.apiGroup !== "") errs.push(notSupported(`${at}.apiGroup`, s.apiGroup, [""]));
        if (!namespaced && (typeof s.namespace !== "string" || s.namespace === "")) errs.push(requiredBecause(`${at}.namespace`, ""));
        break;
      case "User":
      case "Group":
        if (s.apiGroup !== RBAC_GROUP) errs.push(notSupported(`${at}.apiGroup`, s.apiGroup ?? "", [RBAC_GROUP]));
        break;
      default:
        errs.push(notSupported(`${at}.kind`, s.kind ?? "", ["ServiceAccount", "User", "Group"]));
    }
  });
  if (old) {
    const before = isObj(old.roleRef) ? old.roleRef : {};
    if (["apiGroup", "kind", "name"].some((k) => before[k] !== ref[k])) {
      // Go prints the struct: rbac.RoleRef{APIGroup:"…", Kind:"…", Name:"…"}.
      const q = (v: unknown) => JSON.stringify(typeof v === "string" ? v : "");
      errs.push({ reason: "FieldValueInvalid", field: "roleRef", message: `Invalid value: rbac.RoleRef{APIGroup:${q(ref.apiGroup)}, Kind:${q(ref.kind)}, Name:${q(ref.name)}}: cannot change roleRef` });
    }
  }
  return errs;
}

export const validateRoleBinding = (obj: KubeObject, old?: KubeObject): FieldError[] => validateBinding(obj, true, old);
export const validateClusterRoleBinding = (obj: KubeObject, old?: KubeObject): FieldError[] => validateBinding(obj, false, old);
