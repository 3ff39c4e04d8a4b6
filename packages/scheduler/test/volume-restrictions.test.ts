import { describe, expect, it } from "vitest";
import type { PersistentVolumeClaim, Volume } from "kubernetes-types/core/v1.js";
import { VolumeRestrictions } from "../src/plugins/volume-restrictions.js";
import { CycleState, handleOf, listersOf, makeNode, makePod, newPodInfo, snapshotOf } from "./algo-fixtures.js";

const claim = (name: string, modes: string[]): PersistentVolumeClaim => ({ metadata: { name, namespace: "default" }, spec: { accessModes: modes } });
const pvcVol = (name: string): Volume => ({ name, persistentVolumeClaim: { claimName: name } });

function run(podVolumes: Volume[], existing: Volume[][], pvcs: PersistentVolumeClaim[] = []) {
  const pods = existing.map((v, i) => makePod(`e${i}`, { nodeName: i === 0 ? "n1" : "n2", spec: { volumes: v } }));
  const snapshot = snapshotOf([makeNode("n1"), makeNode("n2")], pods);
  const pl = new VolumeRestrictions(handleOf(snapshot, listersOf({ pvcs })));
  const pi = newPodInfo(makePod("p", { spec: { volumes: podVolumes } }));
  const state = new CycleState();
  const pre = pl.preFilter(state, pi).status;
  if (pre !== null) return [pre.code + ": " + pre.message()];
  return snapshot.nodeInfoList.map((ni) => {
    const s = pl.filter(state, pi, ni);
    return s === null ? "ok" : `${s.code}: ${s.message()}`;
  });
}

const gce = (pdName: string, readOnly = false): Volume => ({ name: pdName, gcePersistentDisk: { pdName, readOnly } });

describe("VolumeRestrictions", () => {
  it("skips pods with neither single-writer disks nor ReadWriteOncePod claims", () => {
    expect(run([], [])).toEqual(["Skip: "]);
    expect(run([pvcVol("a")], [], [claim("a", ["ReadWriteOnce"])])).toEqual(["Skip: "]);
  });

  it("rejects a missing claim", () => {
    expect(run([pvcVol("a")], [])).toEqual(['UnschedulableAndUnresolvable: persistentvolumeclaim "a" not found']);
  });

  it("GCE PD: the same disk conflicts unless every mount is read-only (upstream's cases)", () => {
    expect(run([gce("foo")], [[gce("foo")], []])).toEqual(["Unschedulable: node(s) had no available disk", "ok"]);
    expect(run([gce("foo")], [[gce("bar")], []])).toEqual(["ok", "ok"]);
    expect(run([gce("foo", true)], [[gce("foo", true)], []])).toEqual(["ok", "ok"]);
  });

  it("AWS EBS: the same volume ID always conflicts", () => {
    const ebs = (id: string, readOnly = true): Volume => ({ name: id, awsElasticBlockStore: { volumeID: id, readOnly } });
    expect(run([ebs("v1")], [[ebs("v1")], [ebs("v2")]])).toEqual(["Unschedulable: node(s) had no available disk", "ok"]);
  });

  it("RBD: overlapping monitors, same pool and image conflict; iSCSI: the same IQN", () => {
    const rbd = (mons: string[], image: string): Volume => ({ name: image, rbd: { monitors: mons, image, pool: "p" } });
    expect(run([rbd(["a", "b"], "img")], [[rbd(["b", "c"], "img")], [rbd(["x"], "img")]])).toEqual(["Unschedulable: node(s) had no available disk", "ok"]);
    const iscsi = (iqn: string): Volume => ({ name: iqn, iscsi: { iqn, targetPortal: "t", lun: 0 } });
    expect(run([iscsi("iqn.a")], [[iscsi("iqn.a")], [iscsi("iqn.b")]])).toEqual(["Unschedulable: node(s) had no available disk", "ok"]);
  });

  it("ReadWriteOncePod: a claim used by any pod in the cluster blocks every node", () => {
    const pvcs = [claim("rwop", ["ReadWriteOncePod"])];
    const want = "Unschedulable: node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";
    expect(run([pvcVol("rwop")], [[pvcVol("rwop")], []], pvcs)).toEqual([want, want]);
    expect(run([pvcVol("rwop")], [[], []], pvcs)).toEqual(["Skip: "]);
  });

  it("ReadWriteOncePod: removing the user (preemption) clears the conflict", () => {
    const pvcs = [claim("rwop", ["ReadWriteOncePod"])];
    const user = makePod("user", { nodeName: "n1", spec: { volumes: [pvcVol("rwop")] } });
    const snapshot = snapshotOf([makeNode("n1")], [user]);
    const pl = new VolumeRestrictions(handleOf(snapshot, listersOf({ pvcs })));
    const pi = newPodInfo(makePod("p", { spec: { volumes: [pvcVol("rwop")] } }));
    const state = new CycleState();
    pl.preFilter(state, pi);
    const ni = snapshot.nodeInfoList[0]!;
    expect(pl.filter(state, pi, ni)?.code).toBe("Unschedulable");
    const copy = state.clone();
    pl.removePod(copy, pi, ni.pods[0]!);
    expect(pl.filter(copy, pi, ni)).toBeNull();
    expect(pl.filter(state, pi, ni)?.code).toBe("Unschedulable");
  });
});
