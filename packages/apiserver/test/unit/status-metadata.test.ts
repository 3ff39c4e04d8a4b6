/**
 * Which metadata a /status write may change. Upstream's Deployment status strategy resets only
 * spec and labels, so the deployment controller's status writes also record the
 * deployment.kubernetes.io/revision annotation.
 */
import { describe, expect, it } from "vitest";
import { newStore } from "./helpers.js";

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" } },
  spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } } },
};

describe("status writes and metadata", () => {
  it("a Deployment's status write stores its annotations but not its labels or spec", async () => {
    const { store, def } = await newStore();
    const dd = def("apps", "deployments");
    await store.create(dd, "default", deployment);
    const cur = (await store.get(dd, "default", "web")) as any;
    cur.metadata.annotations = { "deployment.kubernetes.io/revision": "1" };
    cur.metadata.labels = { app: "changed" };
    cur.spec.replicas = 7;
    cur.status = { observedGeneration: 1, replicas: 1 };
    const s = (await store.update(dd, "default", "web", cur, { subresource: "status" })) as any;
    expect(s.metadata.annotations).toEqual({ "deployment.kubernetes.io/revision": "1" });
    expect(s.metadata.labels).toEqual({ app: "web" });
    expect(s.spec.replicas).toBe(1);
    expect(s.status).toEqual({ observedGeneration: 1, replicas: 1 });
    expect(s.metadata.generation).toBe(1);
    expect(s.metadata.uid).toBe(cur.metadata.uid);
  });
});
