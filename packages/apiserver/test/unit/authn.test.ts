import { describe, expect, it } from "vitest";
import { toStatus } from "@kubemu/common";
import { ANONYMOUS, authorize, INSECURE_USER, isAllowed, requestAttributes, type UserInfo } from "../../src/http/authn.js";
import { parseRequestPath, type ResourceRequest } from "../../src/http/request-info.js";
import { answerReview, isReview } from "../../src/http/reviews.js";

const admin: UserInfo = { name: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] };
const attrs = (method: string, url: string) => {
  const u = new URL(url, "https://x");
  return requestAttributes(method, u.pathname, parseRequestPath(u.pathname), u.searchParams);
};
const forbiddenMessage = (user: UserInfo, method: string, url: string) => {
  try {
    authorize(user, attrs(method, url));
    return "allowed";
  } catch (e) {
    const s = toStatus(e);
    expect(s).toMatchObject({ code: 403, reason: "Forbidden" });
    return s.message;
  }
};

describe("authorization before RBAC", () => {
  it("lets authenticated users and the plain-HTTP port do everything", () => {
    expect(isAllowed(admin, attrs("DELETE", "/api/v1/namespaces/default/pods"))).toBe(true);
    expect(isAllowed(INSECURE_USER, attrs("POST", "/kubemu/faults"))).toBe(true);
  });

  it("lets anonymous read health and version only, worded as kube-apiserver words a denial", () => {
    for (const p of ["/healthz", "/livez", "/readyz", "/readyz/etcd", "/version"]) expect(forbiddenMessage(ANONYMOUS, "GET", p)).toBe("allowed");
    expect(forbiddenMessage(ANONYMOUS, "POST", "/readyz")).toBe('forbidden: User "system:anonymous" cannot post path "/readyz"');
    expect(forbiddenMessage(ANONYMOUS, "GET", "/apis")).toBe('forbidden: User "system:anonymous" cannot get path "/apis"');
    expect(forbiddenMessage(ANONYMOUS, "GET", "/api/v1/namespaces/kube-system/pods")).toBe('pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "kube-system"');
    expect(forbiddenMessage(ANONYMOUS, "GET", "/apis/apps/v1/deployments?watch=1")).toBe('deployments is forbidden: User "system:anonymous" cannot watch resource "deployments" in API group "apps" at the cluster scope');
    expect(forbiddenMessage(ANONYMOUS, "PUT", "/apis/apps/v1/namespaces/a/deployments/web/scale")).toBe('deployments "web" is forbidden: User "system:anonymous" cannot update resource "deployments/scale" in API group "apps" in the namespace "a"');
    expect(forbiddenMessage(ANONYMOUS, "DELETE", "/api/v1/namespaces/a/configmaps")).toContain('cannot deletecollection resource "configmaps"');
  });
});

describe("self reviews", () => {
  const now = new Date("2026-01-02T03:04:05.678Z");
  const req = (url: string) => parseRequestPath(url) as ResourceRequest;

  it("SelfSubjectReview names the caller", () => {
    const info = req("/apis/authentication.k8s.io/v1/selfsubjectreviews");
    expect(isReview(info)).toBe(true);
    expect(answerReview(info, "POST", {}, admin, now)).toEqual({
      kind: "SelfSubjectReview",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { creationTimestamp: "2026-01-02T03:04:05Z" },
      status: { userInfo: { username: "kubernetes-admin", groups: ["system:masters", "system:authenticated"] } },
    });
  });

  it("SelfSubjectAccessReview applies the same policy as requests, and validates its spec", () => {
    const info = req("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
    const spec = { resourceAttributes: { verb: "create", resource: "pods", namespace: "default" } };
    expect(answerReview(info, "POST", { spec }, admin, now)).toMatchObject({ spec, status: { allowed: true } });
    expect(answerReview(info, "POST", { spec }, ANONYMOUS, now)).toMatchObject({ status: { allowed: false } });
    expect(answerReview(info, "POST", { spec: { nonResourceAttributes: { verb: "get", path: "/healthz" } } }, ANONYMOUS, now)).toMatchObject({ status: { allowed: true } });
    expect(() => answerReview(info, "POST", { spec: {} }, admin, now)).toThrow(/exactly one of nonResourceAttributes or resourceAttributes/);
    expect(() => answerReview(info, "GET", undefined, admin, now)).toThrow(/does not allow this method/);
    expect(isReview(req("/apis/authorization.k8s.io/v1/namespaces/x/selfsubjectaccessreviews"))).toBe(false);
  });
});
