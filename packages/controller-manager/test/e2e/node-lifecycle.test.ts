/**
 * Node failure in a real cluster (store, API server, scheduler, controller-manager running the
 * node lifecycle, taint eviction, pod GC, ReplicaSet and Deployment controllers), driven by the
 * real kubectl: a node whose Lease stops being renewed goes NotReady with its conditions Unknown
 * and the unreachable taints, its pods lose Ready, are evicted when their 10 s tolerations run
 * out and are replaced on the other nodes, while the evicted ones stay Terminating (no kubelet
 * confirms them); renewing again removes the taints. Also kubectl cordon/uncordon, and the pod
 * GC removing pods bound to a node that does not exist.
 *
 * There are no kubelets here: test/e2e/fake-kubelets.ts renews the live nodes' Leases and makes
 * their pods Ready. The times node-stops-heartbeating → NotReady and → pods replaced are printed
 * (not asserted tightly: the machine is shared).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { FakeKubelets } from "./fake-kubelets.js";
import { eventually, ManagerHarness } from "./harness.js";

const h = new ManagerHarness(
  { etcd: "127.1.54", api: "127.1.55", scheduler: "127.1.56", manager: "127.1.57" },
  { schedulers: 1, controllers: "node-lifecycle-controller,taint-eviction-controller,podgc,replicaset-controller,deployment-controller" },
);
const NODES = ["kubemu", "kubemu-m02", "kubemu-m03"];
const kubelets = new FakeKubelets(h);

type Pod = KubeObject & { spec: { nodeName?: string; tolerations?: unknown[] }; status?: { conditions?: { type: string; status: string; reason?: string }[] } };
type Node = KubeObject & { spec?: { taints?: { key: string; effect: string }[]; unschedulable?: boolean }; status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };

const ready = (p: Pod) => !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

beforeAll(async () => {
  await h.start();
  await kubelets.register(NODES);
  kubelets.start();
}, 120_000);

afterAll(async () => {
  await kubelets.stop();
  await h.stop();
}, 60_000);

describe("node lifecycle", () => {
  it("kubectl cordon and uncordon: SchedulingDisabled and the unschedulable taint", async () => {
    expect(await h.kubectl.ok(["cordon", "kubemu-m03"])).toBe("node/kubemu-m03 cordoned\n");
    await eventually(() => h.kubectl.ok(["describe", "node", "kubemu-m03"]), (o) => /Taints:\s+node\.kubernetes\.io\/unschedulable:NoSchedule\n/.test(o) && /Unschedulable:\s+true/.test(o), "the unschedulable taint", 30_000);
    expect(await h.kubectl.ok(["get", "node", "kubemu-m03"])).toMatch(/kubemu-m03\s+Ready,SchedulingDisabled\s/);
    expect(await h.kubectl.ok(["uncordon", "kubemu-m03"])).toBe("node/kubemu-m03 uncordoned\n");
    await eventually(() => h.kubectl.ok(["describe", "node", "kubemu-m03"]), (o) => /Taints:\s+<none>/.test(o) && /Unschedulable:\s+false/.test(o), "the unschedulable taint gone", 30_000);
  }, 90_000);

  it("a node that stops heartbeating goes NotReady, is tainted, its pods are evicted after 10 s and replaced elsewhere; heartbeats again clear it", async () => {
    await h.kubectl.ok(["create", "deployment", "web", "--image=nginx", "--replicas=3"]);
    const placed = await eventually(() => h.pods("default", "app=web"), (ps) => ps.length === 3 && ps.every((p) => ready(p as Pod) && p.spec.nodeName), "3 web pods Ready", 40_000);
    // DefaultTolerationSeconds gave every pod 10 s for not-ready and unreachable (fast profile).
    expect((placed[0] as Pod).spec.tolerations).toEqual(
      expect.arrayContaining([
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 10 },
      ]),
    );
    const victim = placed[0]!.spec.nodeName!;
    const doomed = placed.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name!);

    kubelets.kill(victim);
    const silentSince = kubelets.lastRenew.get(victim)!;
    await eventually(() => h.client.get<Node>(Resources.nodes, undefined, victim), (n) => n.status?.conditions?.find((c) => c.type === "Ready")?.status === "Unknown", `${victim} Ready=Unknown`, 40_000);
    const notReadyAfter = Date.now() - silentSince;
    expect(await h.kubectl.ok(["get", "node", victim])).toMatch(new RegExp(`${victim}\\s+NotReady\\s`));

    const described = await eventually(() => h.kubectl.ok(["describe", "node", victim]), (o) => o.includes("node.kubernetes.io/unreachable:NoExecute") && o.includes("node.kubernetes.io/unreachable:NoSchedule"), `${victim} tainted unreachable`, 30_000);
    for (const type of ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]) expect(described).toMatch(new RegExp(`\\n\\s+${type}\\s+Unknown\\s.*NodeStatusUnknown\\s+Kubelet stopped posting node status\\.`));
    expect(described).toMatch(/Normal\s+NodeNotReady\s+\S+\s+node-controller\s+Node \S+ status is now: NodeNotReady/);

    // Its pods lose Ready at once (MarkPodsNotReady), with a NodeNotReady event.
    for (const name of doomed) {
      const p = await h.client.get<Pod>(Resources.pods, "default", name);
      expect(p.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
    }

    // 10 s later they are deleted (TaintManagerEviction) and replaced on the other nodes.
    const replaced = await eventually(
      () => h.pods("default", "app=web"),
      (ps) => {
        const live = ps.filter((p) => !p.metadata.deletionTimestamp);
        return live.length === 3 && live.every((p) => ready(p as Pod) && p.spec.nodeName !== victim);
      },
      "3 Ready web pods off the dead node",
      60_000,
    );
    const replacedAfter = Date.now() - silentSince;
    console.log(`[node-lifecycle] ${victim} silent → NotReady after ${(notReadyAfter / 1000).toFixed(1)} s, → its pods replaced after ${(replacedAfter / 1000).toFixed(1)} s (fast profile)`);
    expect(replacedAfter).toBeGreaterThan(10_000);
    // The evicted pods stay Terminating: their deletion needs the kubelet that is gone.
    const terminating = replaced.filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name!);
    expect(terminating.sort()).toEqual([...doomed].sort());
    const evicted = await h.client.get<Pod>(Resources.pods, "default", doomed[0]!);
    expect(evicted.status?.conditions).toContainEqual(expect.objectContaining({ type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager" }));
    expect(await h.kubectl.ok(["get", "pods"])).toMatch(new RegExp(`${doomed[0]}\\s+1/1\\s+Terminating\\s`));
    const events = await h.kubectl.ok(["get", "events", "--sort-by=.lastTimestamp"]);
    expect(events).toContain(`Marking for deletion Pod default/${doomed[0]}`);
    expect(events).toMatch(/NodeNotReady\s+pod\/\S+\s+Node is not ready/);

    // The kubelet comes back: Ready again, the taints go, and it finishes the Terminating pods.
    await kubelets.revive(victim);
    await eventually(() => h.kubectl.ok(["describe", "node", victim]), (o) => /Taints:\s+<none>/.test(o), `${victim} untainted`, 30_000);
    expect(await h.kubectl.ok(["get", "node", victim])).toMatch(new RegExp(`${victim}\\s+Ready\\s`));
    await eventually(() => h.pods("default", "app=web"), (ps) => ps.length === 3 && ps.every((p) => !p.metadata.deletionTimestamp), "the evicted pods gone", 30_000);
  }, 240_000);

  it("the pod GC force-deletes pods bound to a node that does not exist", async () => {
    await h.client.create(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "orphan", namespace: "default" }, spec: { nodeName: "kubemu-gone", containers: [{ name: "c", image: "nginx" }] } });
    await eventually(() => h.kubectl.run(["get", "pod", "orphan"]), (r) => r.code !== 0 && r.stderr.includes('pods "orphan" not found'), "the orphan collected", 40_000);
  }, 60_000);
});
