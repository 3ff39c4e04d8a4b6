/**
 * kubemu-scheduler end to end: two scheduler processes against real API servers elect one leader
 * on Lease kube-system/kube-scheduler, and pods created with the real kubectl are placed as
 * kube-scheduler places them, with upstream's events, conditions and messages. Node objects are
 * written by the test (the kubelet issue adds real nodes).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { eventually, pod, SchedulerHarness } from "./harness.js";

const h = new SchedulerHarness({ etcd: "127.0.120", api: "127.0.121", scheduler: "127.0.122" });

beforeAll(async () => {
  await h.start();
  await h.createNode("kubemu", { labels: { "node-role.kubernetes.io/control-plane": "", "topology.kubernetes.io/zone": "a" } });
  await h.createNode("kubemu-m02", { labels: { "topology.kubernetes.io/zone": "b" } });
  await h.createNode("kubemu-m03", { labels: { "topology.kubernetes.io/zone": "c" } });
}, 90_000);

afterAll(async () => {
  await h.stop();
});

type PodObj = KubeObject & { spec: { nodeName?: string }; status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };
const getPod = (name: string) => h.client.get<PodObj>(Resources.pods, "default", name);
const boundTo = async (name: string) => (await getPod(name)).spec.nodeName;
const events = async (name: string) => (await h.client.list(Resources.events, { namespace: "default", fieldSelector: `involvedObject.name=${name}` })).items as (KubeObject & { reason: string; message: string; type: string; source: { component: string }; count: number })[];

describe("kubemu-scheduler", () => {
  it("two replicas elect one leader; the Lease names it", async () => {
    const leader = await h.leader();
    expect(leader.identity).toMatch(/^scheduler-[01]_[0-9a-z]{4}$/);
    // The standby learns the holder on its next retry (fast profile: 0.5 s), so it may not know yet.
    const standby = await eventually(
      async () => (await Promise.all(h.schedulers.map((s) => h.status(s.name)))).find((s) => s && s.role === "standby"),
      (s) => s?.leaseHolder === leader.identity,
      "standby sees the leader's identity",
    );
    expect(standby?.leaseHolder).toBe(leader.identity);
    const holder = await h.kubectl.ok(["get", "lease", "-n", "kube-system", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}"]);
    expect(holder).toBe(leader.identity);
    const becameLeader = (items: unknown[]) => (items as { reason?: string; message?: string }[]).some((e) => e.reason === "LeaderElection" && e.message === `${leader.identity} became leader`);
    const ev = await eventually(() => h.client.list(Resources.events, { namespace: "kube-system" }), (l) => becameLeader(l.items), "LeaderElection event");
    expect(becameLeader(ev.items)).toBe(true);
  });

  it("binds a pod created with kubectl and records Scheduled as upstream words it", async () => {
    await h.kubectl.ok(["run", "web-0", "--image=nginx", "--restart=Never"]);
    const node = await eventually(() => boundTo("web-0"), (n) => !!n, "web-0 bound");
    expect(["kubemu", "kubemu-m02", "kubemu-m03"]).toContain(node);
    const ev = await eventually(() => events("web-0"), (e) => e.some((x) => x.reason === "Scheduled"), "Scheduled event");
    const scheduled = ev.find((x) => x.reason === "Scheduled")!;
    expect(scheduled.message).toBe(`Successfully assigned default/web-0 to ${node}`);
    expect(scheduled.type).toBe("Normal");
    expect(scheduled.source.component).toBe("default-scheduler");
    const describe = await h.kubectl.ok(["describe", "pod", "web-0"]);
    expect(describe).toMatch(new RegExp(`Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned default/web-0 to ${node}`));
  });

  it("a pod no node can take gets FailedScheduling and PodScheduled=False, then fits when a big node joins", async () => {
    await h.client.create(Resources.pods, pod("huge", { cpu: "16" }));
    const ev = await eventually(() => events("huge"), (e) => e.some((x) => x.reason === "FailedScheduling"), "FailedScheduling");
    const failed = ev.find((x) => x.reason === "FailedScheduling")!;
    expect(failed.type).toBe("Warning");
    expect(failed.message).toBe("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
    const cond = await eventually(async () => (await getPod("huge")).status?.conditions?.find((c) => c.type === "PodScheduled"), (c) => !!c, "PodScheduled condition");
    expect(cond).toMatchObject({ status: "False", reason: "Unschedulable", message: failed.message });
    const get = await h.kubectl.ok(["get", "pod", "huge", "--no-headers"]);
    expect(get).toMatch(/^huge\s+0\/1\s+Pending\s+0/);
    // A node with room appears: the Node/Add event moves the pod back and it binds there.
    await h.createNode("kubemu-m04", { cpu: "32", labels: { "topology.kubernetes.io/zone": "a" } });
    expect(await eventually(() => boundTo("huge"), (n) => !!n, "huge bound", 20_000)).toBe("kubemu-m04");
  });

  it("counts untolerated taints and unschedulable nodes in the message; a toleration or nodeSelector decides", async () => {
    await h.createNode("tainted", { labels: { disk: "ssd" }, taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }] });
    await h.createNode("cordoned", { labels: { disk: "ssd" }, unschedulable: true });
    await h.client.create(Resources.pods, pod("picky", { nodeSelector: { disk: "ssd" } }));
    const ev = await eventually(() => events("picky"), (e) => e.some((x) => x.reason === "FailedScheduling"), "FailedScheduling for picky");
    expect(ev.find((x) => x.reason === "FailedScheduling")!.message).toBe(
      "0/6 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable, 4 node(s) didn't match Pod's node affinity/selector. preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling.",
    );
    await h.client.create(Resources.pods, pod("tolerant", { nodeSelector: { disk: "ssd" }, tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" }] }));
    expect(await eventually(() => boundTo("tolerant"), (n) => !!n, "tolerant bound")).toBe("tainted");
  });

  it("spreads a Service's pods over the nodes (default topology spread) and never overcommits", async () => {
    await h.client.create(Resources.services, { apiVersion: "v1", kind: "Service", metadata: { name: "spread", namespace: "default" }, spec: { selector: { app: "spread" }, ports: [{ port: 80 }] } });
    // 1.5 cpu each on 4-cpu nodes: at most 2 per small node fit.
    const names = Array.from({ length: 6 }, (_, i) => `spread-${i}`);
    await Promise.all(names.map((n) => h.client.create(Resources.pods, pod(n, { cpu: "1500m", labels: { app: "spread" } }))));
    const nodes = await eventually(() => Promise.all(names.map(boundTo)), (v) => v.every(Boolean), "spread pods bound");
    const per = new Map<string, number>();
    for (const n of nodes) per.set(n!, (per.get(n!) ?? 0) + 1);
    expect(per.size).toBeGreaterThanOrEqual(3);
    for (const [n, c] of per) if (n !== "kubemu-m04") expect(c, `${n} holds ${c} pods of 1.5 cpu`).toBeLessThanOrEqual(2);
  });

  it("ignores pods for another scheduler and skips malformed pods without crashing", async () => {
    await h.client.create(Resources.pods, pod("other", { extra: { schedulerName: "my-scheduler" } }));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await boundTo("other")).toBeUndefined();
    expect((await events("other")).length).toBe(0);
    for (const s of h.schedulers) expect(s.proc.proc.exitCode, h.output(s.name)).toBeNull();
  });

  it("serves healthz, readyz and upstream's metrics; kubectl get cs shows the scheduler", async () => {
    const leader = await h.leader();
    const url = h.schedulers.find((s) => s.name === leader.name)!.url;
    expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok");
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} [1-9]/);
    expect(metrics).toMatch(/scheduler_pending_pods\{queue="unschedulable"\} [0-9]/);
    expect(metrics).toContain("scheduler_scheduling_attempt_duration_seconds_bucket");
  });
});
