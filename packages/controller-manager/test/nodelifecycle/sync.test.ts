/**
 * The node lifecycle controller on virtual time over a FakeClient: the grace period makes a
 * silent node Unknown and tainted and its pods not Ready; recovery removes the taints; a node
 * that flaps within the grace period is never touched; Ready=False means not-ready; eviction
 * rates per zone state; conditions and cordons as NoSchedule taints.
 */
import { describe, expect, it } from "vitest";
import { Resources, newConflict } from "@kubemu/common";
import type { NodeObject } from "../../src/controllers/node-util/taints.js";
import { Bed, T0, node, pod } from "./fixtures.js";

const UNREACHABLE_NE = "node.kubernetes.io/unreachable:NoExecute";
const UNREACHABLE_NS = "node.kubernetes.io/unreachable:NoSchedule";
const NOT_READY_NE = "node.kubernetes.io/not-ready:NoExecute";
const NOT_READY_NS = "node.kubernetes.io/not-ready:NoSchedule";

describe("grace period", () => {
  it("a node whose Lease stops for longer than the grace period goes Unknown, is tainted unreachable and its pods lose Ready", async () => {
    const b = Bed.of([node("a"), node("b")], [pod("web-1", "a"), pod("web-2", "b")]);
    await b.pass();
    expect(b.recorder.lines()).toEqual(["Normal RegisteredNode Node a event: Registered Node a in Controller", "Normal RegisteredNode Node b event: Registered Node b in Controller"]);
    b.recorder.events.length = 0;

    // b keeps renewing; a is silent. Exactly 5 s is not past the grace period.
    await b.seconds(5, ["b"]);
    expect(b.condition("a", "Ready")?.status).toBe("True");
    expect(b.podReady("web-1")).toBe("True");

    await b.seconds(1, ["b"]);
    const at = new Date(T0 + 6000).toISOString().replace(".000Z", "Z");
    for (const type of ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]) {
      expect(b.condition("a", type)).toMatchObject({ status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastTransitionTime: at, lastHeartbeatTime: new Date(T0).toISOString().replace(".000Z", "Z") });
    }
    expect(b.condition("b", "Ready")?.status).toBe("True");
    expect(b.podReady("web-1")).toBe("False");
    expect(b.podReady("web-2")).toBe("True");
    expect(b.recorder.lines()).toEqual(["Normal NodeNotReady Node a status is now: NodeNotReady", "Warning NodeNotReady Node is not ready"]);
    expect(b.recorder.events[1]!.object).toBe("default/web-1");
    // The NoExecute taint follows on the next pass, which sees the Unknown it wrote.
    expect(b.taints("a")).toEqual([]);

    await b.seconds(1, ["b"]);
    expect(b.taints("a")).toEqual([UNREACHABLE_NE]);
    expect(b.node("a").spec?.taints?.[0]?.timeAdded).toBe(new Date(T0 + 7000).toISOString().replace(".000Z", "Z"));
    expect(b.taints("b")).toEqual([]);
    // The node update mirrors Ready=Unknown as a NoSchedule taint too.
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual([UNREACHABLE_NE, UNREACHABLE_NS]);
    await b.core.syncNode("b");
    expect(b.taints("b")).toEqual([]);
  });

  it("renewing again and posting Ready removes the taints; the pods are the kubelet's to make Ready again", async () => {
    const b = Bed.of([node("a"), node("b")], [pod("web-1", "a")]);
    await b.pass();
    await b.seconds(7, ["b"]);
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual([UNREACHABLE_NE, UNREACHABLE_NS]);

    await b.renew("a");
    await b.postStatus("a");
    await b.seconds(1, ["a", "b"]);
    expect(b.condition("a", "Ready")?.status).toBe("True");
    expect(b.taints("a")).toEqual([UNREACHABLE_NS]);
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual([]);
    expect(b.podReady("web-1")).toBe("False");
    // Healthy from now on: many passes later nothing changes.
    for (let i = 0; i < 20; i++) {
      await b.seconds(1, ["a", "b"]);
      if (i % 5 === 0) await b.postStatus("a");
    }
    expect(b.taints("a")).toEqual([]);
    expect(b.condition("a", "Ready")?.status).toBe("True");
  });

  it("a node whose kubelet stops and starts again within the grace period is never marked or tainted", async () => {
    const b = Bed.of([node("a"), node("b")], [pod("web-1", "a")]);
    await b.pass();
    for (let round = 0; round < 4; round++) {
      await b.seconds(4, ["b"]); // a silent for 4 s (< 5 s)
      await b.seconds(2, ["a", "b"]);
    }
    expect(b.condition("a", "Ready")?.status).toBe("True");
    expect(b.taints("a")).toEqual([]);
    expect(b.podReady("web-1")).toBe("True");
    expect(b.fake.writes().filter((w) => w.resource === "nodes" || w.resource === "pods")).toEqual([]);
  });

  it("a node status heartbeat counts as much as a Lease renewal", async () => {
    const b = Bed.of([node("a"), node("b")]);
    await b.pass();
    for (let i = 0; i < 10; i++) {
      await b.seconds(1, ["b"]);
      if (i % 3 === 2) await b.postStatus("a");
    }
    expect(b.condition("a", "Ready")?.status).toBe("True");
  });

  it("a node that never posted status gets NodeStatusNeverUpdated conditions after the startup grace", async () => {
    const b = Bed.of([node("fresh", { ready: null }), node("b")], [], { nodeStartupGracePeriodMs: 6000 });
    await b.pass();
    // Its Lease counts as a heartbeat even so; here it renews nothing.
    await b.seconds(6, ["b"]);
    expect(b.condition("fresh", "Ready")).toBeUndefined();
    await b.seconds(1, ["b"]);
    expect(b.node("fresh").status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ["Ready", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status."],
      ["MemoryPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status."],
      ["DiskPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status."],
      ["PIDPressure", "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status."],
    ]);
  });

  it("a conflicting status write is retried on a fresh read", async () => {
    const b = Bed.of([node("a"), node("b")]);
    await b.pass();
    let conflicts = 1;
    b.fake.react((a) => {
      if (a.verb === "update-status" && a.resource === "nodes" && conflicts > 0) {
        conflicts--;
        return newConflict({ resource: "nodes" }, "a", "the object has been modified; please apply your changes to the latest version and try again");
      }
      return undefined;
    });
    await b.seconds(5, ["b"]);
    b.clock.advance(1000);
    await b.renew("b");
    const monitor = b.core.monitorNodeHealth();
    // The retry sleeps 20 ms on the controller's clock.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setImmediate(r));
      b.clock.advance(20);
    }
    await monitor;
    expect(b.condition("a", "Ready")?.status).toBe("Unknown");
    expect(b.fake.actions.filter((a) => a.verb === "get" && a.resource === "nodes" && a.name === "a").length).toBeGreaterThanOrEqual(1);
  });
});

describe("not ready", () => {
  it("Ready=False from the kubelet taints not-ready; going silent then swaps it for unreachable at once", async () => {
    const b = Bed.of([node("a", { ready: "False" }), node("b")], [pod("web-1", "a")]);
    await b.pass();
    await b.seconds(1, ["a", "b"]);
    expect(b.taints("a")).toEqual([NOT_READY_NE]);
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual([NOT_READY_NE, NOT_READY_NS]);

    // Silent now: past the grace period Ready becomes Unknown, and the next pass swaps the NoExecute taint.
    await b.seconds(6, ["b"]);
    expect(b.condition("a", "Ready")?.status).toBe("Unknown");
    await b.seconds(1, ["b"]);
    expect(b.taints("a").filter((t) => t.endsWith("NoExecute"))).toEqual([UNREACHABLE_NE]);
    await b.core.syncNode("a");
    expect(b.taints("a").sort()).toEqual([UNREACHABLE_NE, UNREACHABLE_NS].sort());
  });

  it("a pod bound to a node already not Ready is marked not Ready at once", async () => {
    const b = Bed.of([node("a"), node("b")]);
    await b.pass();
    await b.seconds(6, ["b"]);
    await b.fake.create(Resources.pods, pod("late", "a"));
    await b.core.syncPod("default/late");
    expect(b.podReady("late")).toBe("False");
    await b.fake.create(Resources.pods, pod("fine", "b"));
    await b.core.syncPod("default/fine");
    expect(b.podReady("fine")).toBe("True");
  });
});

describe("eviction rates", () => {
  const many = (n: number, zone = "z1") => Array.from({ length: n }, (_, i) => node(`n${i}`, { labels: { "topology.kubernetes.io/zone": zone } }));
  const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);
  const tainted = (b: Bed, n: number) => names(n).filter((x) => b.taints(x).includes(UNREACHABLE_NE));

  it("a healthy zone taints at --node-eviction-rate: one node now, the next 10 s later (0.1 per second, burst 1)", async () => {
    const b = Bed.of(many(10));
    await b.pass();
    const alive = names(10).slice(3);
    await b.seconds(7, alive); // n0..n2 silent: Unknown at 6 s, queued at 7 s
    expect(tainted(b, 10)).toEqual(["n0"]);
    expect(b.core.zoneState(":\x00:z1")).toBe("Normal");
    await b.seconds(9, alive);
    expect(tainted(b, 10)).toEqual(["n0"]);
    await b.seconds(1, alive);
    expect(tainted(b, 10)).toEqual(["n0", "n1"]);
    await b.seconds(10, alive);
    expect(tainted(b, 10)).toEqual(["n0", "n1", "n2"]);
  });

  it("a partially disrupted small zone (≥ 55% of at least 3 not Ready, ≤ 50 nodes) stops tainting", async () => {
    const b = Bed.of(many(5));
    await b.pass();
    const alive = ["n3", "n4"];
    await b.seconds(30, alive);
    expect(b.core.zoneState(":\x00:z1")).toBe("PartialDisruption");
    expect(tainted(b, 5)).toEqual([]);
    expect(b.core.tainterOf(":\x00:z1")?.qps).toBe(0);
    // One comes back: 2 of 5 not Ready is Normal again, and tainting resumes at the normal rate
    // (its bucket starts empty: the stopped one had no token to give).
    await b.renew("n2");
    await b.postStatus("n2");
    await b.seconds(2, ["n2", ...alive]);
    expect(b.core.zoneState(":\x00:z1")).toBe("Normal");
    expect(tainted(b, 5)).toEqual([]);
    await b.seconds(9, ["n2", ...alive]);
    expect(tainted(b, 5)).toEqual(["n0"]);
  });

  it("a partially disrupted large zone (> --large-cluster-size-threshold) taints at the secondary rate", async () => {
    const b = Bed.of(many(6), [], { largeClusterSizeThreshold: 5, secondaryNodeEvictionRate: 0.05 });
    await b.pass();
    await b.seconds(8, ["n4", "n5"]);
    expect(b.core.zoneState(":\x00:z1")).toBe("PartialDisruption");
    expect(b.core.tainterOf(":\x00:z1")?.qps).toBe(0.05);
  });

  it("when every node is down the controller assumes its own view failed: nothing is tainted, and taints already there are removed", async () => {
    const b = Bed.of([node("a"), node("b")], [pod("web-1", "a")]);
    await b.pass();
    await b.seconds(7, ["b"]);
    expect(b.taints("a")).toEqual([UNREACHABLE_NE]);
    await b.seconds(10);
    expect(b.condition("b", "Ready")?.status).toBe("Unknown");
    expect(b.core.zoneState("")).toBe("FullDisruption");
    expect(b.taints("a")).toEqual([]);
    expect(b.taints("b")).toEqual([]);
    // b comes back: the zone is Normal again, at the normal rate from an empty bucket, so a
    // (still Unknown) is tainted again 10 s later.
    await b.renew("b");
    await b.postStatus("b");
    await b.seconds(1, ["b"]);
    expect(b.core.zoneState("")).toBe("Normal");
    expect(b.condition("b", "Ready")?.status).toBe("True");
    await b.seconds(9, ["b"]);
    expect(b.taints("a")).toEqual([]);
    await b.seconds(2, ["b"]);
    expect(b.taints("a")).toEqual([UNREACHABLE_NE]);
    expect(b.taints("b")).toEqual([]);
  });

  it("zones are judged apart: a zone with all nodes down is fully disrupted while another is healthy, and its nodes are tainted", async () => {
    const b = Bed.of([node("a1", { labels: { "topology.kubernetes.io/zone": "a" } }), node("b1", { labels: { "topology.kubernetes.io/zone": "b" } })]);
    await b.pass();
    await b.seconds(8, ["b1"]);
    expect(b.core.zoneState(":\x00:a")).toBe("FullDisruption");
    expect(b.core.zoneState(":\x00:b")).toBe("Normal");
    expect(b.taints("a1")).toEqual([UNREACHABLE_NE]);
  });

  it("nodes labelled node.kubernetes.io/exclude-disruption are left out of zone health", async () => {
    const b = Bed.of([node("a"), node("b", { labels: { "node.kubernetes.io/exclude-disruption": "" } })]);
    await b.pass();
    await b.seconds(8, ["b"]);
    // Only a counts: all of the zone is down.
    expect(b.core.zoneState("")).toBe("FullDisruption");
    expect(b.taints("a")).toEqual([]);
  });
});

describe("NoSchedule taints and labels", () => {
  it("spec.unschedulable (kubectl cordon) adds node.kubernetes.io/unschedulable:NoSchedule; uncordon removes it", async () => {
    const b = Bed.of([node("a")]);
    await b.fake.patch(Resources.nodes, undefined, "a", "merge", { spec: { unschedulable: true } });
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual(["node.kubernetes.io/unschedulable:NoSchedule"]);
    expect(b.node("a").spec?.taints?.[0]?.timeAdded).toBeDefined();
    await b.fake.patch(Resources.nodes, undefined, "a", "merge", { spec: { unschedulable: null } });
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual([]);
    // The taint patch carries the node's resourceVersion (optimistic concurrency on spec.taints).
    const patches = b.fake.writes().filter((w) => w.verb === "patch" && (w.patch as { spec?: unknown }).spec && "taints" in ((w.patch as { spec: object }).spec));
    expect(patches.map((p) => (p.patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion)).toEqual([expect.any(String), expect.any(String)]);
  });

  it("pressure conditions become NoSchedule taints and go with them; taints of others are left alone", async () => {
    const n = node("a", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] });
    (n.status!.conditions!.find((c) => c.type === "DiskPressure") as { status: string }).status = "True";
    const b = Bed.of([n]);
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual(["dedicated:NoSchedule", "node.kubernetes.io/disk-pressure:NoSchedule"]);
    const cur = b.node("a");
    (cur.status!.conditions!.find((c) => c.type === "DiskPressure") as { status: string }).status = "False";
    await b.fake.updateStatus(Resources.nodes, cur);
    await b.core.syncNode("a");
    expect(b.taints("a")).toEqual(["dedicated:NoSchedule"]);
  });

  it("keeps beta.kubernetes.io/os and arch equal to the stable labels", async () => {
    const n = node("a", { labels: { "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "windows" } });
    const b = Bed.of([n]);
    await b.core.syncNode("a");
    const labels = (b.node("a") as NodeObject).metadata.labels!;
    expect(labels["beta.kubernetes.io/os"]).toBe("linux");
    expect(labels["beta.kubernetes.io/arch"]).toBe("amd64");
  });

  it("a deleted node is announced and forgotten", async () => {
    const b = Bed.of([node("a"), node("b")]);
    await b.pass();
    await b.fake.delete(Resources.nodes, undefined, "b");
    b.recorder.events.length = 0;
    await b.seconds(1, ["a"]);
    expect(b.recorder.lines()).toEqual(["Normal RemovingNode Node b event: Removing Node b from Controller"]);
    expect(b.core.healthOf("b")).toBeUndefined();
  });
});
