/**
 * The controller-manager leader SIGKILLed in the middle of a rolling update: the standby takes
 * the lease and finishes the rollout, and at no moment are there more pods than replicas +
 * maxSurge, nor fewer Ready than replicas − maxUnavailable. The test plays the kubelets
 * (autoKubelet: pods Ready 300 ms after they appear, bound pods' deletions completed).
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.5", api: "127.1.6", scheduler: "127.1.7", manager: "127.1.8" }, { managers: 2, controllers: "deployment-controller,replicaset-controller" });
const REPLICAS = 12;
const MAX_SURGE = 2;
const MAX_UNAVAILABLE = 1;

useCluster(h);

type Pod = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
type Deployment = KubeObject & { spec: { replicas: number }; status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number } };

const manifest = (image: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default" },
  spec: {
    replicas: REPLICAS,
    selector: { matchLabels: { app: "web" } },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: MAX_SURGE, maxUnavailable: MAX_UNAVAILABLE } },
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
  },
});

const complete = (d: Deployment) => (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && d.status?.updatedReplicas === REPLICAS && d.status?.replicas === REPLICAS && d.status?.availableReplicas === REPLICAS;
const getDeployment = () => h.client.get<Deployment>(Resources.deployments, "default", "web");

describe("controller-manager leader killed mid-rollout", () => {
  it("the new leader finishes the rollout within maxSurge and maxUnavailable", async () => {
    const kubelet = h.autoKubelet({ labelSelector: "app=web", readyDelayMs: 300 });
    try {
      await h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(manifest("nginx:1.26")) });
      await eventually(getDeployment, complete, "the first rollout", 60_000);

      // Watch every pod from here on: live = not being deleted; ready = live and Ready.
      const rv = (await h.client.list(Resources.pods, { namespace: "default", limit: 1 })).metadata.resourceVersion!;
      const pods = new Map<string, Pod>();
      for (const p of (await h.client.list<Pod>(Resources.pods, { namespace: "default" })).items) pods.set(p.metadata.name!, p);
      let maxLive = 0;
      let minReady = Infinity;
      const sample = () => {
        const live = [...pods.values()].filter((p) => !p.metadata.deletionTimestamp);
        const ready = live.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        maxLive = Math.max(maxLive, live.length);
        minReady = Math.min(minReady, ready.length);
      };
      const stopWatch = new AbortController();
      const watching = (async () => {
        for await (const ev of h.client.watch<Pod>(Resources.pods, { namespace: "default", resourceVersion: rv, signal: stopWatch.signal })) {
          const p = ev.object as Pod;
          if (ev.type === "DELETED") pods.delete(p.metadata.name!);
          else if (ev.type === "ADDED" || ev.type === "MODIFIED") pods.set(p.metadata.name!, p);
          else continue;
          sample();
        }
      })().catch(() => undefined);

      const first = await h.leader(30_000);
      await h.kubectl.ok(["set", "image", "deployment/web", "web=nginx:1.27"]);
      // Kill the leader once the rollout has begun but is far from done.
      await eventually(getDeployment, (d) => (d.status?.updatedReplicas ?? 0) >= 2 && (d.status?.updatedReplicas ?? 0) < REPLICAS, "the rollout under way", 30_000);
      await h.kill(first.name);
      const next = await h.leader(30_000, first.name);
      expect(next.name).not.toBe(first.name);
      const done = await eventually(getDeployment, complete, "the rollout finished by the new leader", 90_000);
      expect(done.status?.updatedReplicas).toBe(REPLICAS);
      stopWatch.abort();
      await watching;

      // The watch saw the surge (so it was watching), and never more than it allows.
      expect(maxLive).toBeGreaterThan(REPLICAS);
      expect(maxLive).toBeLessThanOrEqual(REPLICAS + MAX_SURGE);
      expect(minReady).toBeGreaterThanOrEqual(REPLICAS - MAX_UNAVAILABLE);
      const live = (await h.client.list<Pod & { spec: { containers: { image: string }[] } }>(Resources.pods, { namespace: "default", labelSelector: "app=web" })).items.filter((p) => !p.metadata.deletionTimestamp);
      expect(live).toHaveLength(REPLICAS);
      expect(new Set(live.map((p) => p.spec.containers[0]!.image))).toEqual(new Set(["nginx:1.27"]));
      const history = await h.kubectl.ok(["rollout", "history", "deployment/web"]);
      expect(history).toMatch(/^1\s/m);
      expect(history).toMatch(/^2\s/m);
    } finally {
      await kubelet.stop();
    }
  }, 240_000);
});
