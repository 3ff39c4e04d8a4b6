/**
 * The DaemonSet controller in a real cluster (store, API server, scheduler, controller-manager
 * running only daemonset-controller), driven by the real kubectl: the seed's ssd-monitor follows
 * a node label on and off, `kubectl get ds` columns, a rolling update of the image replaces pods
 * node by node, `kubectl describe ds` events.
 *
 * The scheduler binds the daemon pods (the controller only pins them with node affinity). There
 * are no kubelets yet: the test plays their part — pod status Running/Ready, and removing pods
 * whose graceful deletion has begun.
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { eventually, ManagerHarness } from "./harness.js";
import { useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.26", api: "127.1.27", scheduler: "127.1.28", manager: "127.1.29" }, { schedulers: 1, controllers: "daemonset-controller" });
const NODES = ["kubemu", "kubemu-m02", "kubemu-m03"];

type Pod = KubeObject & { spec: { nodeName?: string; containers: { image: string }[] }; status?: { phase?: string; conditions?: { type: string; status: string }[] } };

useCluster(h, { nodes: NODES });

const SSD_MONITOR = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ssd-monitor
spec:
  selector:
    matchLabels:
      app: ssd-monitor
  template:
    metadata:
      labels:
        app: ssd-monitor
    spec:
      nodeSelector:
        disk: ssd
      containers:
        - name: main
          image: luksa/ssd-monitor
`;

const NODE_EXPORTER = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
spec:
  selector:
    matchLabels:
      app: node-exporter
  template:
    metadata:
      labels:
        app: node-exporter
    spec:
      containers:
        - name: main
          image: prom/node-exporter:v1.7.0
`;

const isReady = (p: Pod) => !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

/** Plays every node's kubelet once: bound pods become Running/Ready, terminating pods are removed. */
async function kubeletPass(selector: string): Promise<void> {
  for (const p of await h.pods("default", selector)) {
    if (p.metadata.deletionTimestamp) await h.client.delete(Resources.pods, "default", p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
    else if (p.spec.nodeName && !isReady(p)) await h.markRunningReady("default", p.metadata.name!, p.spec.nodeName).catch(() => undefined);
  }
}

/** `kubectl get ds <name>` as its row's cells. */
async function dsRow(name: string): Promise<string[]> {
  const out = await h.kubectl.ok(["get", "ds", name, "--no-headers"]);
  return out.trim().split(/\s+/);
}

describe("DaemonSet controller", () => {
  it("the seed's ssd-monitor: a pod appears on the node labelled disk=ssd and goes when the label does", async () => {
    await h.kubectl.ok(["create", "-f", "-"], { input: SSD_MONITOR });
    const header = (await h.kubectl.ok(["get", "ds"])).split("\n")[0]!;
    expect(header.split(/\s{2,}/)).toEqual(["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]);
    await eventually(() => dsRow("ssd-monitor"), (r) => r.slice(0, 7).join(" ") === "ssd-monitor 0 0 0 0 0 disk=ssd", "ssd-monitor with no node to run on", 30_000);
    expect(await h.pods("default", "app=ssd-monitor")).toHaveLength(0);

    await h.kubectl.ok(["label", "node", "kubemu-m02", "disk=ssd"]);
    const [pod] = await eventually(() => h.pods("default", "app=ssd-monitor"), (ps) => ps.length === 1 && ps[0]!.spec.nodeName === "kubemu-m02", "a pod bound to kubemu-m02 by the scheduler", 40_000);
    const affinity = (pod!.spec as { affinity?: unknown }).affinity;
    expect(affinity).toEqual({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["kubemu-m02"] }] }] } } });
    expect(pod!.metadata.labels).toMatchObject({ app: "ssd-monitor", "pod-template-generation": "1" });
    expect(pod!.metadata.labels!["controller-revision-hash"]).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    const wide = await h.kubectl.ok(["get", "po", "-o", "wide"]);
    expect(wide).toMatch(new RegExp(`${pod!.metadata.name}\\s.*kubemu-m02`));

    await h.markAllRunningReady("default", "app=ssd-monitor", "kubemu-m02");
    await eventually(() => dsRow("ssd-monitor"), (r) => r.slice(0, 7).join(" ") === "ssd-monitor 1 1 1 1 1 disk=ssd", "kubectl get ds: 1 1 1 1 1 disk=ssd", 30_000);

    await h.kubectl.ok(["label", "node", "kubemu-m02", "disk-"]);
    // The controller deletes it (gracefully: it is bound); the test's kubelet finishes the job.
    await eventually(async () => (await kubeletPass("app=ssd-monitor"), h.pods("default", "app=ssd-monitor")), (ps) => ps.length === 0, "the pod gone once the label is", 40_000);
    await eventually(() => dsRow("ssd-monitor"), (r) => r.slice(0, 7).join(" ") === "ssd-monitor 0 0 0 0 0 disk=ssd", "ssd-monitor back to 0", 30_000);
    await h.kubectl.ok(["delete", "ds", "ssd-monitor"]);
  });

  it("one pod per node; a rolling update of the image replaces them node by node; describe shows the events", async () => {
    await h.kubectl.ok(["create", "-f", "-"], { input: NODE_EXPORTER });
    const pods = await eventually(() => h.pods("default", "app=node-exporter"), (ps) => ps.length === 3 && ps.every((p) => p.spec.nodeName), "three pods, all bound", 40_000);
    expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(NODES);
    await kubeletPass("app=node-exporter");
    await eventually(() => dsRow("node-exporter"), (r) => r.slice(0, 7).join(" ") === "node-exporter 3 3 3 3 3 <none>", "kubectl get ds: 3 3 3 3 3 <none>", 30_000);
    expect(await h.kubectl.ok(["rollout", "status", "ds/node-exporter", "--timeout=20s"])).toContain('daemon set "node-exporter" successfully rolled out');
    const before = new Map(pods.map((p) => [p.metadata.name!, p.spec.nodeName!]));

    await h.kubectl.ok(["set", "image", "ds/node-exporter", "main=prom/node-exporter:v1.8.0"]);
    // Play the kubelets while watching: never more than maxUnavailable (1) node without a ready pod.
    let worst = 0;
    const replacedOrder: string[] = [];
    await eventually(
      async () => {
        await kubeletPass("app=node-exporter");
        const now = await h.pods("default", "app=node-exporter");
        const readyNodes = new Set(now.filter((p) => !p.metadata.deletionTimestamp && isReady(p)).map((p) => p.spec.nodeName));
        worst = Math.max(worst, NODES.filter((n) => !readyNodes.has(n)).length);
        for (const [name, nodeName] of before) if (!now.some((p) => p.metadata.name === name) && !replacedOrder.includes(nodeName)) replacedOrder.push(nodeName);
        return now;
      },
      (ps) => ps.length === 3 && ps.every((p) => p.spec.containers[0]!.image === "prom/node-exporter:v1.8.0" && isReady(p) && !p.metadata.deletionTimestamp),
      "every node running the new image",
      60_000,
    );
    expect(worst).toBeLessThanOrEqual(1);
    expect([...replacedOrder].sort()).toEqual(NODES);
    const after = await h.pods("default", "app=node-exporter");
    expect(after.map((p) => p.spec.nodeName).sort()).toEqual(NODES);
    expect(after.every((p) => p.metadata.labels!["pod-template-generation"] === "2")).toBe(true);
    await eventually(() => dsRow("node-exporter"), (r) => r.slice(0, 7).join(" ") === "node-exporter 3 3 3 3 3 <none>", "kubectl get ds after the update", 30_000);
    expect(await h.kubectl.ok(["rollout", "status", "ds/node-exporter", "--timeout=20s"])).toContain('daemon set "node-exporter" successfully rolled out');
    const history = await h.kubectl.ok(["rollout", "history", "ds/node-exporter"]);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);

    const describe = await h.kubectl.ok(["describe", "ds", "node-exporter"]);
    expect(describe).toMatch(/Desired Number of Nodes Scheduled: 3/);
    expect(describe).toMatch(/Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/);
    expect(describe).toMatch(/Normal\s+SuccessfulCreate\s+.*daemonset-controller\s+Created pod: node-exporter-[a-z0-9]{5}/);
    expect(describe).toMatch(/Normal\s+SuccessfulDelete\s+.*daemonset-controller\s+Deleted pod: node-exporter-[a-z0-9]{5}/);

    // The revision's data is the patch kubectl applies to go back; revision 1 returns as 3.
    await h.kubectl.ok(["rollout", "undo", "ds/node-exporter"]);
    await eventually(
      async () => (await kubeletPass("app=node-exporter"), h.pods("default", "app=node-exporter")),
      (ps) => ps.length === 3 && ps.every((p) => p.spec.containers[0]!.image === "prom/node-exporter:v1.7.0" && isReady(p) && !p.metadata.deletionTimestamp),
      "every node back on the old image",
      60_000,
    );
    expect(await h.kubectl.ok(["rollout", "history", "ds/node-exporter"])).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  });
});
