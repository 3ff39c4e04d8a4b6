/**
 * Reconciling one default role or binding with what is stored (upstream's
 * pkg/registry/rbac/reconciliation in union mode, as the bootstrap-roles hook runs it):
 * missing objects are created; objects annotated `rbac.authorization.kubernetes.io/autoupdate:
 * "false"` are left alone; otherwise missing labels, annotations, rules (as broken-down rules),
 * aggregation selectors and subjects are added — nothing a user added is ever removed — and a
 * binding whose roleRef changed is deleted and created again (roleRef is immutable). Pure.
 */
import type { KubeObject } from "@kubemu/common";
import { covers, rulesOf } from "../rules.js";
import { roleRefOf, subjectsOf } from "../rbac.js";
import { AUTOUPDATE_ANNOTATION } from "./builders.js";

export type Reconciled =
  | { op: "none" }
  | { op: "create"; object: KubeObject }
  | { op: "update"; object: KubeObject; added: string[] }
  /** Delete the stored object, then create this one. */
  | { op: "recreate"; object: KubeObject };

/** Deep equality for plain JSON data, ignoring key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

export const isProtected = (o: KubeObject): boolean => o.metadata.annotations?.[AUTOUPDATE_ANNOTATION] === "false";

/** Stored metadata with the expected labels and annotations added (stored values win). */
function mergedMetadata(existing: KubeObject, expected: KubeObject, added: string[]): KubeObject["metadata"] {
  const labels = { ...(expected.metadata.labels ?? {}), ...(existing.metadata.labels ?? {}) };
  const annotations = { ...(expected.metadata.annotations ?? {}), ...(existing.metadata.annotations ?? {}) };
  if (!sameJson(labels, existing.metadata.labels ?? {})) added.push("labels");
  if (!sameJson(annotations, existing.metadata.annotations ?? {})) added.push("annotations");
  return { ...existing.metadata, labels, annotations };
}

interface AggregationRule {
  clusterRoleSelectors?: unknown[];
}

/** Role or ClusterRole. */
export function reconcileRole(existing: KubeObject | undefined, expected: KubeObject): Reconciled {
  if (!existing) return { op: "create", object: expected };
  if (isProtected(existing)) return { op: "none" };
  const added: string[] = [];
  const result: KubeObject = { ...existing, metadata: mergedMetadata(existing, expected, added) };

  const want = expected.aggregationRule as AggregationRule | undefined;
  const have = existing.aggregationRule as AggregationRule | undefined;
  if (!want && have) {
    delete result.aggregationRule;
    added.push("aggregationRule (removed)");
  } else if (want) {
    const haveSelectors = have?.clusterRoleSelectors ?? [];
    const missing = (want.clusterRoleSelectors ?? []).filter((s) => !haveSelectors.some((h) => sameJson(h, s)));
    if (missing.length > 0) {
      result.aggregationRule = { ...(have ?? {}), clusterRoleSelectors: [...haveSelectors, ...missing] };
      added.push("aggregationRule selectors");
    }
  }

  const { missing } = covers(rulesOf(existing), rulesOf(expected));
  if (missing.length > 0) {
    result.rules = [...(Array.isArray(existing.rules) ? existing.rules : []), ...missing];
    added.push(`${missing.length} rule(s)`);
  }
  return added.length > 0 ? { op: "update", object: result, added } : { op: "none" };
}

/** RoleBinding or ClusterRoleBinding. */
export function reconcileBinding(existing: KubeObject | undefined, expected: KubeObject): Reconciled {
  if (!existing) return { op: "create", object: expected };
  if (isProtected(existing)) return { op: "none" };
  const added: string[] = [];
  const result: KubeObject = { ...existing, metadata: mergedMetadata(existing, expected, added) };
  const have = subjectsOf(existing);
  const missing = subjectsOf(expected).filter((s) => !have.some((h) => sameJson(normalSubject(h, existing), normalSubject(s, existing))));
  if (missing.length > 0) {
    result.subjects = [...(Array.isArray(existing.subjects) ? existing.subjects : []), ...missing];
    added.push(`${missing.length} subject(s)`);
  }
  if (!sameJson(roleRefOf(existing), roleRefOf(expected))) {
    const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, managedFields: _mf, ...metadata } = result.metadata;
    return { op: "recreate", object: { ...result, metadata, roleRef: expected.roleRef } };
  }
  return added.length > 0 ? { op: "update", object: result, added } : { op: "none" };
}

/** A subject as compared: a ServiceAccount without a namespace is the binding's namespace's; the API group defaults per kind. */
function normalSubject(s: { kind: string; name: string; namespace?: string; apiGroup?: string }, binding: KubeObject) {
  const apiGroup = s.apiGroup ?? (s.kind === "ServiceAccount" ? "" : "rbac.authorization.k8s.io");
  return { kind: s.kind, name: s.name, namespace: s.kind === "ServiceAccount" ? s.namespace || binding.metadata.namespace || "" : "", apiGroup };
}
