/**
 * VolumeBinding: a pod's PersistentVolumeClaims must be usable on the node.
 *
 * - A bound claim (volumeName set and `pv.kubernetes.io/bind-completed`, as the PV controller
 *   marks it) pins the pod to nodes its PV's nodeAffinity admits.
 * - An unbound claim whose StorageClass binds Immediately (or that names a volume but is not bound
 *   yet) must be bound by the PV controller first: "pod has unbound immediate PersistentVolumeClaims".
 * - An unbound WaitForFirstConsumer claim is matched, per node, with the smallest available PV of
 *   its class that fits (capacity, access modes, volume mode, selector, node affinity), or else is
 *   to be provisioned by its class's provisioner if allowedTopologies admit the node.
 *
 * The decisions for the chosen node (PVs to bind, claims to provision with
 * `volume.kubernetes.io/selected-node`) come out of the cycle as `VolumeDecisions`; applying them
 * (upstream's Reserve/PreBind) is the caller's job. CSI storage capacity is not modelled: every
 * provisioner is assumed to have room.
 */
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";
import type { CycleState, StateData } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import type { FilterPlugin, Handle, PreFilterOutcome, PreFilterPlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { compileLabelSelector } from "../framework/labels.js";
import { valueOf } from "../framework/quantities.js";
import { Status } from "../framework/status.js";
import { matchNodeSelectorTermsLabels } from "./helper/node-affinity.js";
import { VOLUME_BINDING } from "./names.js";

/** Upstream's ErrReasonBindConflict. */
export const ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
/** Upstream's ErrReasonNodeConflict. */
export const ERR_REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict";
/** Upstream's ErrReasonNotEnoughSpace. */
export const ERR_REASON_NOT_ENOUGH_SPACE = "node(s) did not have enough free storage";
/** Upstream's ErrReasonPVNotExist. */
export const ERR_REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
/** The PreFilter reason for unbound Immediate claims. */
export const ERR_REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims";

/** The annotation the scheduler puts on a claim to be provisioned (upstream's AnnSelectedNode). */
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** The PV controller's mark of a completed binding (upstream's AnnBindCompleted). */
export const ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed";
const ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class";
const NOT_SUPPORTED_PROVISIONER = "kubernetes.io/no-provisioner";

const STATE_KEY = VOLUME_BINDING;

/** A PV chosen for a WaitForFirstConsumer claim on a node. */
export interface StaticBinding {
  pv: PersistentVolume;
  pvc: PersistentVolumeClaim;
}

/** What the pod's volumes need on one node (upstream's PodVolumes). */
export interface PodVolumes {
  staticBindings: StaticBinding[];
  dynamicProvisions: PersistentVolumeClaim[];
}

/**
 * The volume work for the chosen node, for the caller to apply before binding the pod:
 * bind each PV to its claim (set the PV's spec.claimRef, as upstream's AssumePodVolumes), and
 * annotate each claim to provision with `volume.kubernetes.io/selected-node: <node>`.
 */
export interface VolumeDecisions {
  bindings: { persistentVolumeName: string; claimNamespace: string; claimName: string }[];
  provisions: { claimNamespace: string; claimName: string; selectedNode: string }[];
}

interface PodVolumeClaims {
  bound: PersistentVolumeClaim[];
  delayBinding: PersistentVolumeClaim[];
  immediate: PersistentVolumeClaim[];
  /** Candidate PVs of each storage class the delay-binding claims use. */
  pvsByClass: Map<string, PersistentVolume[]>;
}

class VolumeBindingState implements StateData {
  readonly podVolumesByNode = new Map<string, PodVolumes>();
  constructor(readonly claims: PodVolumeClaims | undefined) {}
  clone(): StateData {
    // Shared on purpose (upstream too): Filter records per-node results, never reads other nodes'.
    return this;
  }
}

/** The claim's class (the beta annotation wins, as upstream's GetPersistentVolumeClaimClass). */
export function claimClass(pvc: PersistentVolumeClaim): string {
  const ann = pvc.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return pvc.spec?.storageClassName ?? "";
}

/** The PV's class (GetPersistentVolumeClass). */
export function volumeClass(pv: PersistentVolume): string {
  const ann = pv.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return pv.spec?.storageClassName ?? "";
}

function isVolumeBoundToClaim(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  if (ref === undefined) return false;
  if (ref.name !== pvc.metadata?.name || ref.namespace !== pvc.metadata?.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata?.uid;
}

/** True if the PV's nodeAffinity admits node labels (upstream's CheckNodeAffinity). */
export function pvNodeAffinityMatches(pv: PersistentVolume, labels: Readonly<Record<string, string>> | undefined): boolean {
  const required = pv.spec?.nodeAffinity?.required;
  if (required === undefined) return true;
  return matchNodeSelectorTermsLabels(required, labels);
}

function storageRequest(pvc: PersistentVolumeClaim): number {
  const q = pvc.spec?.resources?.requests?.["storage"];
  return q === undefined ? 0 : valueOf(q);
}

function storageCapacity(pv: PersistentVolume): number {
  const q = pv.spec?.capacity?.["storage"];
  return q === undefined ? 0 : valueOf(q);
}

/**
 * The smallest available PV that satisfies the claim on this node, or the PV pre-bound to it
 * (upstream's FindMatchingVolume on the scheduler path). `excluded` are PVs already chosen for
 * other claims of the pod.
 */
export function findMatchingVolume(pvc: PersistentVolumeClaim, pvs: readonly PersistentVolume[], node: Node, excluded: ReadonlySet<string>): PersistentVolume | undefined {
  const requested = storageRequest(pvc);
  const requestedClass = claimClass(pvc);
  const selector = pvc.spec?.selector ? compileLabelSelector(pvc.spec.selector) : undefined;
  const claimMode = pvc.spec?.volumeMode ?? "Filesystem";
  const labels = node.metadata?.labels;
  let best: PersistentVolume | undefined;
  let bestQty = 0;
  for (const pv of pvs) {
    const name = pv.metadata?.name ?? "";
    if (excluded.has(name)) continue;
    if (pv.spec?.claimRef !== undefined && !isVolumeBoundToClaim(pv, pvc)) continue;
    const qty = storageCapacity(pv);
    if (qty < requested) continue;
    if ((pv.spec?.volumeMode ?? "Filesystem") !== claimMode) continue;
    if (pv.metadata?.deletionTimestamp !== undefined) continue;
    const affinityOk = pvNodeAffinityMatches(pv, labels);
    if (isVolumeBoundToClaim(pv, pvc)) return affinityOk ? pv : undefined;
    if (pv.status?.phase !== "Available") continue;
    if (selector !== undefined && !selector.matches(pv.metadata?.labels)) continue;
    if (volumeClass(pv) !== requestedClass) continue;
    if (!affinityOk) continue;
    const modes = pv.spec?.accessModes ?? [];
    if (!(pvc.spec?.accessModes ?? []).every((m) => modes.includes(m))) continue;
    if (best === undefined || bestQty > qty) {
      best = pv;
      bestQty = qty;
    }
  }
  return best;
}

/** True if every topology term's requirements are met by the labels; no terms = no restriction. */
function matchTopologySelectorTerms(sc: StorageClass, labels: Readonly<Record<string, string>> | undefined): boolean {
  const terms = sc.allowedTopologies ?? [];
  if (terms.length === 0) return true;
  const l = labels ?? {};
  return terms.some((t) => {
    const reqs = t.matchLabelExpressions ?? [];
    if (reqs.length === 0) return false;
    return reqs.every((r) => {
      const v = l[r.key];
      return v !== undefined && r.values.includes(v);
    });
  });
}

export class VolumeBinding implements PreFilterPlugin, FilterPlugin {
  readonly name = VOLUME_BINDING;

  constructor(private readonly handle: Handle) {}

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "StorageClass", actionType: "Add" },
      { resource: "StorageClass", actionType: "Update" },
      { resource: "PersistentVolumeClaim", actionType: "Add" },
      { resource: "PersistentVolumeClaim", actionType: "Update" },
      { resource: "PersistentVolume", actionType: "Add" },
      { resource: "PersistentVolume", actionType: "Update" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
      { resource: "CSINode", actionType: "Add" },
      { resource: "CSINode", actionType: "Update" },
    ];
  }

  /** The pod's claims, or an error message in upstream's words (podHasPVCs). */
  private podClaims(pod: Pod): PersistentVolumeClaim[] | string {
    const ns = pod.metadata?.namespace ?? "";
    const out: PersistentVolumeClaim[] = [];
    for (const vol of pod.spec?.volumes ?? []) {
      let name: string;
      let ephemeral = false;
      if (vol.persistentVolumeClaim) name = vol.persistentVolumeClaim.claimName;
      else if (vol.ephemeral) {
        name = `${pod.metadata?.name ?? ""}-${vol.name}`;
        ephemeral = true;
      } else continue;
      const pvc = this.handle.listers.persistentVolumeClaim(ns, name);
      if (pvc === undefined) {
        return ephemeral ? `waiting for ephemeral volume controller to create the persistentvolumeclaim "${name}"` : `persistentvolumeclaim "${name}" not found`;
      }
      if (pvc.status?.phase === "Lost") return `persistentvolumeclaim "${name}" bound to non-existent persistentvolume "${pvc.spec?.volumeName ?? ""}"`;
      if (pvc.metadata?.deletionTimestamp !== undefined) return `persistentvolumeclaim "${name}" is being deleted`;
      if (ephemeral) {
        const owner = (pvc.metadata?.ownerReferences ?? []).find((o) => o.controller === true);
        if (owner === undefined || owner.uid !== pod.metadata?.uid) {
          return `PVC ${ns}/${name} was not created for pod ${ns}/${pod.metadata?.name ?? ""} (pod is not owner)`;
        }
      }
      out.push(pvc);
    }
    return out;
  }

  private isDelayBinding(pvc: PersistentVolumeClaim): boolean {
    const cls = claimClass(pvc);
    if (cls === "") return false;
    const sc = this.handle.listers.storageClass(cls);
    // A class missing from the cache binds immediately, as upstream; an unset mode is the API
    // server's default, Immediate.
    return sc?.volumeBindingMode === "WaitForFirstConsumer";
  }

  preFilter(state: CycleState, pi: PodInfo): PreFilterOutcome {
    const claims = this.podClaims(pi.pod);
    if (typeof claims === "string") return { status: new Status("UnschedulableAndUnresolvable", [claims]) };
    if (claims.length === 0) {
      state.write(STATE_KEY, new VolumeBindingState(undefined));
      return { status: new Status("Skip") };
    }
    const split: PodVolumeClaims = { bound: [], delayBinding: [], immediate: [], pvsByClass: new Map() };
    for (const pvc of claims) {
      const fullyBound = !!pvc.spec?.volumeName && pvc.metadata?.annotations?.[ANN_BIND_COMPLETED] !== undefined;
      if (fullyBound) split.bound.push(pvc);
      else if (this.isDelayBinding(pvc) && !pvc.spec?.volumeName) split.delayBinding.push(pvc);
      // Pre-bound claims (volumeName set, binding not completed) wait for the PV controller too.
      else split.immediate.push(pvc);
    }
    if (split.immediate.length > 0) return { status: new Status("UnschedulableAndUnresolvable", [ERR_REASON_UNBOUND_IMMEDIATE]) };
    if (split.delayBinding.length > 0) {
      const all = this.handle.listers.persistentVolumes();
      for (const pvc of split.delayBinding) {
        const cls = claimClass(pvc);
        if (!split.pvsByClass.has(cls)) split.pvsByClass.set(cls, all.filter((pv) => volumeClass(pv) === cls));
      }
    }
    state.write(STATE_KEY, new VolumeBindingState(split));
    const eligible = this.eligibleNodes(split.bound);
    return { status: null, result: eligible === undefined ? undefined : { nodeNames: eligible } };
  }

  /**
   * Nodes a bound local PV pins the pod to: the hostname values of its `In` requirements
   * (upstream's GetEligibleNodes, which reads the hostname label as the node name).
   */
  private eligibleNodes(bound: readonly PersistentVolumeClaim[]): Set<string> | undefined {
    let eligible: Set<string> | undefined;
    for (const pvc of bound) {
      const pv = this.handle.listers.persistentVolume(pvc.spec?.volumeName ?? "");
      const terms = pv?.spec?.nodeAffinity?.required?.nodeSelectorTerms;
      if (terms === undefined) continue;
      const names = new Set<string>();
      for (const t of terms) {
        let termNodes: Set<string> | undefined;
        for (const e of t.matchExpressions ?? []) {
          if (e.key !== "kubernetes.io/hostname" || e.operator !== "In") continue;
          const s = new Set(e.values ?? []);
          termNodes = termNodes === undefined ? s : new Set([...termNodes].filter((x) => s.has(x)));
        }
        for (const n of termNodes ?? []) names.add(n);
      }
      if (names.size === 0) continue;
      eligible = eligible === undefined ? names : new Set([...eligible].filter((x) => names.has(x)));
    }
    return eligible;
  }

  filter(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    const s = state.read<VolumeBindingState>(STATE_KEY);
    if (s === undefined) throw new Error(`reading "${STATE_KEY}" from cycleState: not found`);
    const node = nodeInfo.node;
    if (s.claims === undefined || node === undefined) return null;
    const { reasons, podVolumes } = this.findPodVolumes(pi.pod, s.claims, node);
    if (reasons.length > 0) return new Status("UnschedulableAndUnresolvable", reasons);
    s.podVolumesByNode.set(nodeInfo.name, podVolumes);
    return null;
  }

  /** Upstream's FindPodVolumes: reasons why the node cannot serve the claims, and what it would take. */
  private findPodVolumes(_pod: Pod, claims: PodVolumeClaims, node: Node): { reasons: string[]; podVolumes: PodVolumes } {
    const podVolumes: PodVolumes = { staticBindings: [], dynamicProvisions: [] };
    let boundSatisfied = true;
    let boundPVsFound = true;
    let unboundSatisfied = true;
    // CSI storage capacity is not modelled, so provisioning never runs out of space.
    const sufficientStorage = true;
    const labels = node.metadata?.labels;
    for (const pvc of claims.bound) {
      const pv = this.handle.listers.persistentVolume(pvc.spec?.volumeName ?? "");
      if (pv === undefined) {
        boundPVsFound = false;
        break;
      }
      if (!pvNodeAffinityMatches(pv, labels)) {
        boundSatisfied = false;
        break;
      }
    }
    if (boundSatisfied && boundPVsFound && claims.delayBinding.length > 0) {
      const toMatch: PersistentVolumeClaim[] = [];
      const toProvision: PersistentVolumeClaim[] = [];
      let skip = false;
      for (const pvc of claims.delayBinding) {
        const selected = pvc.metadata?.annotations?.[ANN_SELECTED_NODE];
        if (selected !== undefined) {
          if (selected !== node.metadata?.name) {
            unboundSatisfied = false;
            skip = true;
            break;
          }
          toProvision.push(pvc);
        } else toMatch.push(pvc);
      }
      if (!skip) {
        // Smallest requests first, so each gets the smallest PV that fits.
        toMatch.sort((a, b) => storageRequest(a) - storageRequest(b));
        const chosen = new Set<string>();
        for (const pvc of toMatch) {
          const pv = findMatchingVolume(pvc, claims.pvsByClass.get(claimClass(pvc)) ?? [], node, chosen);
          if (pv === undefined) {
            unboundSatisfied = false;
            toProvision.push(pvc);
            continue;
          }
          chosen.add(pv.metadata?.name ?? "");
          podVolumes.staticBindings.push({ pv, pvc });
        }
        if (toProvision.length > 0) {
          unboundSatisfied = true;
          for (const pvc of toProvision) {
            const sc = this.handle.listers.storageClass(claimClass(pvc));
            const provisioner = sc?.provisioner ?? "";
            if (sc === undefined || provisioner === "" || provisioner === NOT_SUPPORTED_PROVISIONER || !matchTopologySelectorTerms(sc, labels)) {
              unboundSatisfied = false;
              podVolumes.dynamicProvisions = [];
              break;
            }
            podVolumes.dynamicProvisions.push(pvc);
          }
        }
      }
    }
    const reasons: string[] = [];
    if (!boundSatisfied) reasons.push(ERR_REASON_NODE_CONFLICT);
    if (!unboundSatisfied) reasons.push(ERR_REASON_BIND_CONFLICT);
    if (!sufficientStorage) reasons.push(ERR_REASON_NOT_ENOUGH_SPACE);
    if (!boundPVsFound) reasons.push(ERR_REASON_PV_NOT_EXIST);
    return { reasons, podVolumes };
  }

  /** The volume work for `nodeName` recorded by this cycle's Filter, or undefined if there is none. */
  decisionsFor(state: CycleState, nodeName: string): VolumeDecisions | undefined {
    const pv = state.read<VolumeBindingState>(STATE_KEY)?.podVolumesByNode.get(nodeName);
    if (pv === undefined || (pv.staticBindings.length === 0 && pv.dynamicProvisions.length === 0)) return undefined;
    return {
      bindings: pv.staticBindings.map((b) => ({
        persistentVolumeName: b.pv.metadata?.name ?? "",
        claimNamespace: b.pvc.metadata?.namespace ?? "",
        claimName: b.pvc.metadata?.name ?? "",
      })),
      provisions: pv.dynamicProvisions.map((c) => ({ claimNamespace: c.metadata?.namespace ?? "", claimName: c.metadata?.name ?? "", selectedNode: nodeName })),
    };
  }
}
