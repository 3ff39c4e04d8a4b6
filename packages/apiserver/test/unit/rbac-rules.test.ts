/** RBAC rule matching and coverage, against the cases upstream's rbac and policy-comparator tests document. */
import { describe, expect, it } from "vitest";
import { resourceAttributes, type RequestAttributes } from "../../src/auth/attributes.js";
import { breakdownRule, compactRuleString, covers, ruleAllows, rulesOf, type PolicyRule } from "../../src/auth/rules.js";

const res = (verb: string, group: string, resource: string, extra: { subresource?: string; namespace?: string; name?: string } = {}): RequestAttributes =>
  resourceAttributes({ verb, group, resource, ...extra });
const url = (verb: string, path: string): RequestAttributes => ({ kind: "nonResource", verb, path });
const r = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({ verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) });
const u = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

describe("rule matching (RuleAllows)", () => {
  it("matches verbs, groups and resources exactly or by *", () => {
    expect(ruleAllows(res("get", "", "pods"), r(["get"], [""], ["pods"]))).toBe(true);
    expect(ruleAllows(res("list", "", "pods"), r(["get"], [""], ["pods"]))).toBe(false);
    expect(ruleAllows(res("list", "", "pods"), r(["*"], [""], ["pods"]))).toBe(true);
    expect(ruleAllows(res("get", "apps", "pods"), r(["get"], [""], ["pods"]))).toBe(false);
    expect(ruleAllows(res("get", "apps", "deployments"), r(["get"], ["*"], ["deployments"]))).toBe(true);
    expect(ruleAllows(res("get", "apps", "deployments"), r(["get"], ["apps"], ["*"]))).toBe(true);
    // No apiGroups in a resource rule matches no group at all (not even the core one).
    expect(ruleAllows(res("get", "", "pods"), { verbs: ["get"], resources: ["pods"] })).toBe(false);
  });

  it("treats subresources as resource/sub, and */sub as that subresource of any resource", () => {
    const logs = res("get", "", "pods", { subresource: "log", namespace: "ns", name: "web" });
    expect(ruleAllows(logs, r(["get"], [""], ["pods"]))).toBe(false);
    expect(ruleAllows(logs, r(["get"], [""], ["pods/log"]))).toBe(true);
    expect(ruleAllows(logs, r(["get"], [""], ["*"]))).toBe(true);
    expect(ruleAllows(logs, r(["get"], [""], ["*/log"]))).toBe(true);
    expect(ruleAllows(logs, r(["get"], [""], ["*/status"]))).toBe(false);
    const scale = res("update", "apps", "deployments", { subresource: "scale", name: "web" });
    expect(ruleAllows(scale, r(["get", "update"], ["*"], ["*/scale"]))).toBe(true);
    // */scale is about subresources only: the deployment itself does not match.
    expect(ruleAllows(res("update", "apps", "deployments", { name: "web" }), r(["update"], ["*"], ["*/scale"]))).toBe(false);
    // pods/* is not a wildcard form.
    expect(ruleAllows(logs, r(["get"], [""], ["pods/*"]))).toBe(false);
  });

  it("limits by resourceNames: a named request must be listed, an unnamed one (list, create) never matches a named rule", () => {
    const named = r(["get", "update", "list"], [""], ["configmaps"], ["cluster-info"]);
    expect(ruleAllows(res("get", "", "configmaps", { name: "cluster-info" }), named)).toBe(true);
    expect(ruleAllows(res("get", "", "configmaps", { name: "other" }), named)).toBe(false);
    expect(ruleAllows(res("list", "", "configmaps"), named)).toBe(false);
    expect(ruleAllows(res("get", "", "configmaps", { name: "other" }), r(["get"], [""], ["configmaps"]))).toBe(true);
  });

  it("matches non-resource URLs exactly, by a trailing * prefix, or by * alone", () => {
    expect(ruleAllows(url("get", "/healthz"), u(["get"], ["/healthz"]))).toBe(true);
    expect(ruleAllows(url("get", "/healthz/etcd"), u(["get"], ["/healthz"]))).toBe(false);
    expect(ruleAllows(url("get", "/healthz/etcd"), u(["get"], ["/healthz/*"]))).toBe(true);
    expect(ruleAllows(url("get", "/apis/apps/v1"), u(["get"], ["/apis*"]))).toBe(true);
    expect(ruleAllows(url("get", "/anything"), u(["get"], ["*"]))).toBe(true);
    expect(ruleAllows(url("post", "/healthz"), u(["get"], ["/healthz"]))).toBe(false);
    // A resource rule never allows a path, a URL rule never a resource.
    expect(ruleAllows(url("get", "/api"), r(["*"], ["*"], ["*"]))).toBe(false);
    expect(ruleAllows(res("get", "", "pods"), u(["*"], ["*"]))).toBe(false);
  });

  it("grants nothing for unknown verbs or malformed stored rules", () => {
    expect(ruleAllows(res("get", "", "pods"), r(["fly"], [""], ["pods"]))).toBe(false);
    const rules = rulesOf({ rules: [{ verbs: "get", apiGroups: [""], resources: ["pods"] }, null, 7, { verbs: ["get", 3], apiGroups: [""], resources: ["pods", {}] }] });
    expect(rules).toEqual([{ verbs: [], apiGroups: [""], resources: ["pods"] }, { verbs: ["get"], apiGroups: [""], resources: ["pods"] }]);
    expect(ruleAllows(res("get", "", "pods"), rules[0]!)).toBe(false);
    expect(rulesOf({})).toEqual([]);
  });
});

describe("coverage (policy comparator)", () => {
  it("breaks a rule into one verb on one group/resource(/name), and one verb on one URL", () => {
    expect(breakdownRule(r(["get", "list"], ["", "apps"], ["pods"]))).toHaveLength(4);
    expect(breakdownRule(r(["get"], [""], ["configmaps"], ["a", "b"]))).toEqual([r(["get"], [""], ["configmaps"], ["a"]), r(["get"], [""], ["configmaps"], ["b"])]);
    expect(breakdownRule(u(["get", "post"], ["/a"]))).toEqual([u(["get"], ["/a"]), u(["post"], ["/a"])]);
  });

  it("covers by stars, exact lists, */subresource and URL prefixes; named rules cover only those names", () => {
    expect(covers([r(["*"], ["*"], ["*"])], [r(["get", "delete"], ["apps"], ["deployments/scale"])]).covered).toBe(true);
    expect(covers([r(["get"], [""], ["*/status"])], [r(["get"], [""], ["pods/status"])]).covered).toBe(true);
    expect(covers([r(["get"], [""], ["*/status"])], [r(["get"], [""], ["pods"])]).covered).toBe(false);
    expect(covers([r(["get"], [""], ["configmaps"], ["a"])], [r(["get"], [""], ["configmaps"])]).covered).toBe(false);
    expect(covers([r(["get"], [""], ["configmaps"])], [r(["get"], [""], ["configmaps"], ["a"])]).covered).toBe(true);
    expect(covers([u(["get"], ["/healthz/*"])], [u(["get"], ["/healthz/etcd"])]).covered).toBe(true);
    const { covered, missing } = covers([r(["get"], [""], ["pods"])], [r(["get", "list"], [""], ["pods", "services"])]);
    expect(covered).toBe(false);
    expect(missing).toEqual([r(["list"], [""], ["pods"]), r(["get"], [""], ["services"]), r(["list"], [""], ["services"])]);
  });

  it("prints rules as upstream's escalation messages do", () => {
    expect(compactRuleString(r(["get", "list"], ["apps"], ["deployments"], ["web"]))).toBe('{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["get" "list"]}');
    expect(compactRuleString(u(["get"], ["/healthz"]))).toBe('{NonResourceURLs:["/healthz"], Verbs:["get"]}');
  });
});
