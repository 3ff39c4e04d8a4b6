/**
 * The default profile (upstream's getDefaultPlugins, v1.33): the plugins in upstream's order at
 * each extension point, with upstream's score weights. Left out: SchedulingGates and PrioritySort
 * (the queue's), NodeVolumeLimits/VolumeZone (no CSI or zone-labelled PVs here), ImageLocality
 * (nodes report no images), DefaultBinder (the caller binds).
 */
import type { Rng } from "@kubemu/common";
import { Framework, type FrameworkPlugins } from "../framework/framework.js";
import type { ClusterListers, Handle, PodNominator } from "../framework/interface.js";
import type { Snapshot } from "../framework/snapshot.js";
import { BalancedAllocation } from "./balanced-allocation.js";
import { DefaultPreemption, type DefaultPreemptionOptions } from "./default-preemption.js";
import { InterPodAffinity, type InterPodAffinityOptions } from "./inter-pod-affinity.js";
import { NodeAffinity } from "./node-affinity.js";
import { NodeName } from "./node-name.js";
import { NodePorts } from "./node-ports.js";
import { NodeResourcesFit, type FitOptions } from "./node-resources-fit.js";
import { NodeUnschedulable } from "./node-unschedulable.js";
import { PodTopologySpread, type PodTopologySpreadOptions } from "./pod-topology-spread.js";
import { TaintToleration } from "./taint-toleration.js";
import { VolumeBinding } from "./volume-binding.js";
import { VolumeRestrictions } from "./volume-restrictions.js";

const EMPTY_SNAPSHOT: Snapshot = {
  nodeInfoList: [],
  havePodsWithAffinityNodeInfoList: [],
  havePodsWithRequiredAntiAffinityNodeInfoList: [],
  get: () => undefined,
};

/** Inputs of the default profile. */
export interface DefaultFrameworkOptions {
  listers: ClusterListers;
  /** Tie-breaking and preemption's candidate offset. */
  rng: Rng;
  /** Wall-clock milliseconds (preemption orders victims by start time). */
  now: () => number;
  /** Pods nominated by earlier preemptions; without it nominations are not taken into account. */
  nominator?: PodNominator;
  fit?: FitOptions;
  podTopologySpread?: PodTopologySpreadOptions;
  interPodAffinity?: InterPodAffinityOptions;
  preemption?: DefaultPreemptionOptions;
}

/** The default profile's framework and the plugins the algorithm talks to directly. */
export interface DefaultProfile {
  framework: Framework;
  volumeBinding: VolumeBinding;
  preemption: DefaultPreemption;
}

/** Builds the default profile. */
export function newDefaultProfile(opts: DefaultFrameworkOptions): DefaultProfile {
  const handle: Handle = { snapshot: EMPTY_SNAPSHOT, listers: opts.listers, nominator: opts.nominator, now: opts.now };
  const nodeUnschedulable = new NodeUnschedulable();
  const nodeName = new NodeName();
  const taintToleration = new TaintToleration();
  const nodeAffinity = new NodeAffinity();
  const nodePorts = new NodePorts();
  const fit = new NodeResourcesFit(opts.fit);
  const volumeRestrictions = new VolumeRestrictions(handle);
  const volumeBinding = new VolumeBinding(handle);
  const podTopologySpread = new PodTopologySpread(handle, opts.podTopologySpread);
  const interPodAffinity = new InterPodAffinity(handle, opts.interPodAffinity);
  const preemption = new DefaultPreemption(handle, opts.rng, opts.preemption);
  const balanced = new BalancedAllocation();
  const plugins: FrameworkPlugins = {
    preFilter: [nodeAffinity, nodePorts, fit, volumeRestrictions, volumeBinding, podTopologySpread, interPodAffinity],
    filter: [nodeUnschedulable, nodeName, taintToleration, nodeAffinity, nodePorts, fit, volumeRestrictions, volumeBinding, podTopologySpread, interPodAffinity],
    postFilter: [preemption],
    preScore: [taintToleration, nodeAffinity, fit, podTopologySpread, interPodAffinity, balanced],
    score: [
      { plugin: taintToleration, weight: 3 },
      { plugin: nodeAffinity, weight: 2 },
      { plugin: fit, weight: 1 },
      { plugin: podTopologySpread, weight: 2 },
      { plugin: interPodAffinity, weight: 2 },
      { plugin: balanced, weight: 1 },
    ],
  };
  const framework = new Framework(handle, plugins);
  preemption.attach(framework);
  return { framework, volumeBinding, preemption };
}
