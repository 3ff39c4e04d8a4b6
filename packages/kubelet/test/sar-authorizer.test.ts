/**
 * The kubelet's webhook authorization: the SubjectAccessReview it sends (upstream's attributes),
 * the decisions it turns answers into (403 / 500 in upstream's words) and the answer cache
 * (allowed kept 5 min, denied 30 s, failures not kept, one review for a burst).
 */
import { describe, expect, it } from "vitest";
import { decide } from "../src/streaming/authn.js";
import { AUTHORIZED_TTL_MS, SarAuthorizer, UNAUTHORIZED_TTL_MS, type ReviewAnswer } from "../src/streaming/sar-authorizer.js";

/** A reviewer that records every review and answers by user name. */
function fakeReviewer(answers: Record<string, ReviewAnswer | Error>) {
  const reviews: Record<string, unknown>[] = [];
  const review = (r: Record<string, unknown>) => {
    reviews.push(r);
    const user = (r["spec"] as { user: string }).user;
    const a = answers[user] ?? { allowed: false };
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  };
  return { reviews, review };
}

const proxy = { name: "system:kube-proxy", groups: ["system:authenticated"] };
const jane = { name: "jane", groups: ["dev", "system:authenticated"] };

describe("SubjectAccessReview authorizer", () => {
  it("asks about nodes/<subresource> named for this node, as the certificate's user and groups", async () => {
    const f = fakeReviewer({ "system:kube-proxy": { allowed: true } });
    const authz = new SarAuthorizer({ nodeName: "kubemu-m02", review: f.review, now: () => 0 });
    expect(await decide(proxy, "GET", "/portForward/default/web-0", authz)).toBeUndefined();
    expect(f.reviews).toEqual([
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user: "system:kube-proxy", groups: ["system:authenticated"], resourceAttributes: { verb: "get", group: "", version: "v1", resource: "nodes", subresource: "proxy", name: "kubemu-m02" } },
      },
    ]);
    await decide(proxy, "GET", "/stats/summary", authz);
    expect((f.reviews[1]!["spec"] as { resourceAttributes: { subresource: string } }).resourceAttributes.subresource).toBe("stats");
  });

  it("denied → 403, no answer → 500, in upstream's words; the API servers' identity is never reviewed", async () => {
    const f = fakeReviewer({ broken: new Error("connect ECONNREFUSED") });
    const authz = new SarAuthorizer({ nodeName: "n1", review: f.review, now: () => 0 });
    expect(await decide(jane, "POST", "/exec/default/p/c", authz)).toEqual({ code: 403, body: "Forbidden (user=jane, verb=create, resource=nodes, subresource=proxy)" });
    expect(await decide({ name: "broken", groups: [] }, "GET", "/containerLogs/a/b/c", authz)).toEqual({ code: 500, body: "Authorization error (user=broken, verb=get, resource=nodes, subresource=proxy)" });
    expect(await decide({ name: "kube-apiserver-kubelet-client", groups: ["system:masters"] }, "GET", "/containerLogs/a/b/c", authz)).toBeUndefined();
    expect(await decide(undefined, "GET", "/portForward/a/b", authz)).toEqual({ code: 401, body: "Unauthorized" });
    expect(f.reviews.map((r) => (r["spec"] as { user: string }).user)).toEqual(["jane", "broken"]);
  });

  it("keeps an allowed answer 5 minutes and a denied one 30 seconds; a failure is asked again at once", async () => {
    let now = 1_000;
    const answers: Record<string, ReviewAnswer | Error> = { "system:kube-proxy": { allowed: true }, jane: { allowed: false, reason: "no RBAC policy matched" }, flaky: new Error("timeout") };
    const f = fakeReviewer(answers);
    const authz = new SarAuthorizer({ nodeName: "n1", review: f.review, now: () => now });
    const count = (user: string) => f.reviews.filter((r) => (r["spec"] as { user: string }).user === user).length;
    const ask = (user: { name: string; groups: string[] }) => authz.authorize({ user, verb: "get", subresource: "proxy" });
    expect(await ask(proxy)).toEqual({ allowed: true });
    expect(await ask(jane)).toEqual({ allowed: false, reason: "no RBAC policy matched" });
    await expect(ask({ name: "flaky", groups: [] })).rejects.toThrow("timeout");
    now += UNAUTHORIZED_TTL_MS - 1;
    await ask(proxy);
    await ask(jane);
    await expect(ask({ name: "flaky", groups: [] })).rejects.toThrow("timeout");
    expect([count("system:kube-proxy"), count("jane"), count("flaky")]).toEqual([1, 1, 2]);
    now += 1;
    answers["jane"] = { allowed: true };
    expect(await ask(jane)).toEqual({ allowed: true });
    expect(count("jane")).toBe(2);
    now = 1_000 + AUTHORIZED_TTL_MS;
    await ask(proxy);
    expect(count("system:kube-proxy")).toBe(2);
    // A different verb or group set is a different question.
    await authz.authorize({ user: proxy, verb: "create", subresource: "proxy" });
    await ask({ name: "system:kube-proxy", groups: [] });
    expect(count("system:kube-proxy")).toBe(4);
  });

  it("asks once for a burst of requests from one user", async () => {
    let release!: (a: ReviewAnswer) => void;
    const reviews: unknown[] = [];
    const authz = new SarAuthorizer({
      nodeName: "n1",
      now: () => 0,
      review: (r) => {
        reviews.push(r);
        return new Promise((res) => (release = res));
      },
    });
    const burst = Array.from({ length: 5 }, () => decide(proxy, "GET", "/portForward/a/b", authz));
    release({ allowed: true });
    expect(await Promise.all(burst)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(reviews).toHaveLength(1);
  });
});
