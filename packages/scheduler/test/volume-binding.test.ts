import { describe, expect, it } from "vitest";
import type { PersistentVolume, PersistentVolumeClaim } from "kubernetes-types/core/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";
import { VolumeBinding } from "../src/plugins/volume-binding.js";
import { CycleState, handleOf, listersOf, makeNode, makePod, newPodInfo, snapshotOf, type ListerData } from "./algo-fixtures.js";

const immediate: StorageClass = { metadata: { name: "immediate" }, provisioner: "p", volumeBindingMode: "Immediate" };
const wffc: StorageClass = { metadata: { name: "wait" }, provisioner: "kubernetes.io/no-provisioner", volumeBindingMode: "WaitForFirstConsumer" };
const provisioned: StorageClass = {
  metadata: { name: "standard" },
  provisioner: "rancher.io/local-path",
  volumeBindingMode: "WaitForFirstConsumer",
  allowedTopologies: [{ matchLabelExpressions: [{ key: "zone", values: ["a"] }] }],
};

function pvc(name: string, o: { class?: string; volumeName?: string; bound?: boolean; storage?: string; annotations?: Record<string, string>; modes?: string[] } = {}): PersistentVolumeClaim {
  const annotations = { ...(o.bound ? { "pv.kubernetes.io/bind-completed": "yes" } : {}), ...(o.annotations ?? {}) };
  return {
    metadata: { name, namespace: "default", uid: `pvc-${name}`, annotations },
    spec: {
      accessModes: o.modes ?? ["ReadWriteOnce"],
      resources: { requests: { storage: o.storage ?? "1Gi" } },
      ...(o.class !== undefined ? { storageClassName: o.class } : {}),
      ...(o.volumeName ? { volumeName: o.volumeName } : {}),
    },
  };
}

function pv(name: string, o: { class?: string; storage?: string; hostname?: string; zone?: string; claim?: string; phase?: string } = {}): PersistentVolume {
  const exprs = [
    ...(o.hostname ? [{ key: "kubernetes.io/hostname", operator: "In", values: [o.hostname] }] : []),
    ...(o.zone ? [{ key: "zone", operator: "In", values: [o.zone] }] : []),
  ];
  return {
    metadata: { name },
    spec: {
      capacity: { storage: o.storage ?? "1Gi" },
      accessModes: ["ReadWriteOnce"],
      ...(o.class ? { storageClassName: o.class } : {}),
      ...(exprs.length > 0 ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: exprs }] } } } : {}),
      ...(o.claim ? { claimRef: { namespace: "default", name: o.claim } } : {}),
    },
    status: { phase: o.phase ?? "Available" },
  };
}

const nodes = [makeNode("node1", { labels: { zone: "a" } }), makeNode("node2", { labels: { zone: "b" } })];

function run(claims: string[], data: ListerData, ephemeral = false) {
  const snapshot = snapshotOf(nodes);
  const pl = new VolumeBinding(handleOf(snapshot, listersOf(data)));
  const pod = makePod("p", {
    spec: {
      volumes: claims.map((c) => (ephemeral ? { name: c, ephemeral: { volumeClaimTemplate: { spec: {} } } } : { name: c, persistentVolumeClaim: { claimName: c } })),
    },
  });
  const pi = newPodInfo(pod);
  const state = new CycleState();
  const pre = pl.preFilter(state, pi);
  if (pre.status !== null) return { pre: pre.status.code + ": " + pre.status.message(), filter: undefined, decisions: undefined, eligible: undefined };
  const filter = snapshot.nodeInfoList.map((ni) => pl.filter(state, pi, ni)?.message() ?? "ok");
  return {
    pre: "ok",
    filter,
    decisions: snapshot.nodeInfoList.map((ni) => pl.decisionsFor(state, ni.name)),
    eligible: pre.result?.nodeNames ? [...pre.result.nodeNames] : undefined,
  };
}

describe("VolumeBinding PreFilter", () => {
  it("skips pods without claims", () => {
    expect(run([], {}).pre).toBe("Skip: ");
  });
  it("rejects a missing claim, a missing ephemeral claim, a claim being deleted and a lost claim", () => {
    expect(run(["a"], {}).pre).toBe('UnschedulableAndUnresolvable: persistentvolumeclaim "a" not found');
    expect(run(["vol"], {}, true).pre).toBe('UnschedulableAndUnresolvable: waiting for ephemeral volume controller to create the persistentvolumeclaim "p-vol"');
    const live = pvc("a", { class: "immediate" });
    const deleting = { ...live, metadata: { ...live.metadata, deletionTimestamp: "2024-01-01T00:00:00Z" } };
    expect(run(["a"], { pvcs: [deleting] }).pre).toBe('UnschedulableAndUnresolvable: persistentvolumeclaim "a" is being deleted');
    const lost = { ...pvc("a", { volumeName: "gone" }), status: { phase: "Lost" } };
    expect(run(["a"], { pvcs: [lost] }).pre).toBe('UnschedulableAndUnresolvable: persistentvolumeclaim "a" bound to non-existent persistentvolume "gone"');
  });
  it("rejects an ephemeral claim the pod does not own", () => {
    const claim = pvc("p-vol");
    expect(run(["vol"], { pvcs: [claim] }, true).pre).toBe("UnschedulableAndUnresolvable: PVC default/p-vol was not created for pod default/p (pod is not owner)");
  });
  it("rejects unbound Immediate claims, claims without a class and pre-bound claims not yet completed", () => {
    const want = "UnschedulableAndUnresolvable: pod has unbound immediate PersistentVolumeClaims";
    expect(run(["a"], { pvcs: [pvc("a", { class: "immediate" })], storageClasses: [immediate] }).pre).toBe(want);
    expect(run(["a"], { pvcs: [pvc("a")] }).pre).toBe(want);
    expect(run(["a"], { pvcs: [pvc("a", { class: "wait", volumeName: "pv1" })], storageClasses: [wffc] }).pre).toBe(want);
  });
});

describe("VolumeBinding Filter", () => {
  it("pins a bound claim to the nodes its PV's nodeAffinity admits", () => {
    const r = run(["a"], { pvcs: [pvc("a", { volumeName: "pv1", bound: true })], pvs: [pv("pv1", { zone: "a", claim: "a", phase: "Bound" })] });
    expect(r.filter).toEqual(["ok", "node(s) had volume node affinity conflict"]);
    expect(r.decisions).toEqual([undefined, undefined]);
  });
  it("reports a bound claim whose PV is gone", () => {
    const r = run(["a"], { pvcs: [pvc("a", { volumeName: "pv1", bound: true })] });
    expect(r.filter).toEqual(["node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)", "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"]);
  });
  it("narrows to the node a bound local PV names", () => {
    const r = run(["a"], { pvcs: [pvc("a", { volumeName: "pv1", bound: true })], pvs: [pv("pv1", { hostname: "node2" })] });
    expect(r.eligible).toEqual(["node2"]);
  });
  it("matches a WaitForFirstConsumer claim with an available local PV, per node", () => {
    const r = run(["a"], { pvcs: [pvc("a", { class: "wait" })], storageClasses: [wffc], pvs: [pv("local1", { class: "wait", hostname: "node1" })] });
    expect(r.filter).toEqual(["ok", "node(s) didn't find available persistent volumes to bind"]);
    expect(r.decisions?.[0]).toEqual({ bindings: [{ persistentVolumeName: "local1", claimNamespace: "default", claimName: "a" }], provisions: [] });
  });
  it("chooses the smallest PV that fits, skipping too small, bound, unavailable and other-class PVs", () => {
    const r = run(["a"], {
      pvcs: [pvc("a", { class: "wait", storage: "5Gi" })],
      storageClasses: [wffc],
      pvs: [
        pv("small", { class: "wait", storage: "1Gi" }),
        pv("big", { class: "wait", storage: "100Gi" }),
        pv("right", { class: "wait", storage: "10Gi" }),
        pv("taken", { class: "wait", storage: "5Gi", claim: "other" }),
        pv("released", { class: "wait", storage: "5Gi", phase: "Released" }),
        pv("otherclass", { class: "immediate", storage: "5Gi" }),
      ],
    });
    expect(r.decisions?.[0]?.bindings.map((b) => b.persistentVolumeName)).toEqual(["right"]);
  });
  it("provisions where the class's allowedTopologies admit the node, and records the selected node", () => {
    const r = run(["a"], { pvcs: [pvc("a", { class: "standard" })], storageClasses: [provisioned] });
    expect(r.filter).toEqual(["ok", "node(s) didn't find available persistent volumes to bind"]);
    expect(r.decisions?.[0]).toEqual({ bindings: [], provisions: [{ claimNamespace: "default", claimName: "a", selectedNode: "node1" }] });
  });
  it("cannot provision with kubernetes.io/no-provisioner", () => {
    const r = run(["a"], { pvcs: [pvc("a", { class: "wait" })], storageClasses: [wffc] });
    expect(r.filter).toEqual(["node(s) didn't find available persistent volumes to bind", "node(s) didn't find available persistent volumes to bind"]);
  });
  it("keeps a claim whose node was already selected on that node", () => {
    const claim = pvc("a", { class: "standard", annotations: { "volume.kubernetes.io/selected-node": "node2" } });
    const r = run(["a"], { pvcs: [claim], storageClasses: [{ ...provisioned, allowedTopologies: [] }] });
    expect(r.filter).toEqual(["node(s) didn't find available persistent volumes to bind", "ok"]);
  });
});
