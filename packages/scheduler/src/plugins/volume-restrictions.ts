/**
 * VolumeRestrictions: a ReadWriteOncePod claim may be used by one pod in the whole cluster, and
 * the in-tree disks that allow a single writer (GCE PD, AWS EBS, iSCSI, Ceph RBD) may not be
 * mounted twice on a node unless every mount is read-only.
 */
import type { Pod, Volume } from "kubernetes-types/core/v1.js";
import type { CycleState, StateData } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import type { FilterPlugin, Handle, PreFilterOutcome, PreFilterPlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { VOLUME_RESTRICTIONS } from "./names.js";

/** Upstream's ErrReasonDiskConflict. */
export const ERR_REASON_DISK_CONFLICT = "node(s) had no available disk";
/** Upstream's ErrReasonReadWriteOncePodConflict. */
export const ERR_REASON_RWOP_CONFLICT = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";

const PRE_FILTER_KEY = "PreFilter" + VOLUME_RESTRICTIONS;

class PreFilterState implements StateData {
  constructor(
    readonly readWriteOncePodPVCs: ReadonlySet<string>,
    public conflictingPVCRefCount: number,
  ) {}

  clone(): StateData {
    return new PreFilterState(this.readWriteOncePodPVCs, this.conflictingPVCRefCount);
  }

  updateWithPod(pi: PodInfo, multiplier: number): void {
    let n = 0;
    for (const v of pi.pod.spec?.volumes ?? []) if (v.persistentVolumeClaim && this.readWriteOncePodPVCs.has(v.persistentVolumeClaim.claimName)) n++;
    this.conflictingPVCRefCount += multiplier * n;
  }
}

function needsRestrictionsCheck(v: Volume): boolean {
  return v.gcePersistentDisk !== undefined || v.awsElasticBlockStore !== undefined || v.rbd !== undefined || v.iscsi !== undefined;
}

function haveOverlap(a: readonly string[], b: readonly string[]): boolean {
  const s = new Set(a);
  return b.some((x) => s.has(x));
}

/** True if volume conflicts with one of pod's volumes (upstream's isVolumeConflict). */
export function isVolumeConflict(volume: Volume, pod: Pod): boolean {
  for (const ev of pod.spec?.volumes ?? []) {
    if (volume.gcePersistentDisk && ev.gcePersistentDisk) {
      const d = volume.gcePersistentDisk;
      const e = ev.gcePersistentDisk;
      if (d.pdName === e.pdName && !(d.readOnly === true && e.readOnly === true)) return true;
    }
    if (volume.awsElasticBlockStore && ev.awsElasticBlockStore) {
      if (volume.awsElasticBlockStore.volumeID === ev.awsElasticBlockStore.volumeID) return true;
    }
    if (volume.iscsi && ev.iscsi) {
      if (volume.iscsi.iqn === ev.iscsi.iqn && !(volume.iscsi.readOnly === true && ev.iscsi.readOnly === true)) return true;
    }
    if (volume.rbd && ev.rbd) {
      const r = volume.rbd;
      const e = ev.rbd;
      if (haveOverlap(r.monitors, e.monitors) && (r.pool ?? "rbd") === (e.pool ?? "rbd") && r.image === e.image && !(r.readOnly === true && e.readOnly === true)) return true;
    }
  }
  return false;
}

export class VolumeRestrictions implements PreFilterPlugin, FilterPlugin {
  readonly name = VOLUME_RESTRICTIONS;

  constructor(private readonly handle: Handle) {}

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Pod", actionType: "Delete" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
      { resource: "PersistentVolumeClaim", actionType: "Add" },
    ];
  }

  preFilter(state: CycleState, pi: PodInfo): PreFilterOutcome {
    const pod = pi.pod;
    const volumes = pod.spec?.volumes ?? [];
    const needsCheck = volumes.some(needsRestrictionsCheck);
    const ns = pod.metadata?.namespace ?? "";
    const rwop = new Set<string>();
    for (const v of volumes) {
      if (!v.persistentVolumeClaim) continue;
      const name = v.persistentVolumeClaim.claimName;
      const pvc = this.handle.listers.persistentVolumeClaim(ns, name);
      if (pvc === undefined) return { status: new Status("UnschedulableAndUnresolvable", [`persistentvolumeclaim "${name}" not found`]) };
      if (pvc.spec?.accessModes?.includes("ReadWriteOncePod")) rwop.add(name);
    }
    let conflicts = 0;
    if (rwop.size > 0) {
      const nodes = this.handle.snapshot.nodeInfoList;
      for (const name of rwop) {
        const key = `${ns}/${name}`;
        if (nodes.some((ni) => (ni.pvcRefCounts.get(key) ?? 0) > 0)) conflicts++;
      }
    }
    if (!needsCheck && conflicts === 0) return { status: new Status("Skip") };
    state.write(PRE_FILTER_KEY, new PreFilterState(rwop, conflicts));
    return { status: null };
  }

  addPod(state: CycleState, _pod: PodInfo, podToAdd: PodInfo): Status | null {
    state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(podToAdd, 1);
    return null;
  }

  removePod(state: CycleState, _pod: PodInfo, podToRemove: PodInfo): Status | null {
    state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(podToRemove, -1);
    return null;
  }

  filter(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    for (const v of pi.pod.spec?.volumes ?? []) {
      if (!needsRestrictionsCheck(v)) continue;
      for (const ev of nodeInfo.pods) if (isVolumeConflict(v, ev.pod)) return new Status("Unschedulable", [ERR_REASON_DISK_CONFLICT]);
    }
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (s === undefined) throw new Error(`cannot read "${PRE_FILTER_KEY}" from cycleState`);
    if (s.conflictingPVCRefCount > 0) return new Status("Unschedulable", [ERR_REASON_RWOP_CONFLICT]);
    return null;
  }
}
