/** Plugin names, as upstream's plugins/names package spells them. */
export const NODE_UNSCHEDULABLE = "NodeUnschedulable";
export const NODE_NAME = "NodeName";
export const TAINT_TOLERATION = "TaintToleration";
export const NODE_AFFINITY = "NodeAffinity";
export const NODE_PORTS = "NodePorts";
export const NODE_RESOURCES_FIT = "NodeResourcesFit";
export const NODE_RESOURCES_BALANCED_ALLOCATION = "NodeResourcesBalancedAllocation";
export const VOLUME_RESTRICTIONS = "VolumeRestrictions";
export const VOLUME_BINDING = "VolumeBinding";
export const POD_TOPOLOGY_SPREAD = "PodTopologySpread";
export const INTER_POD_AFFINITY = "InterPodAffinity";
export const DEFAULT_PREEMPTION = "DefaultPreemption";
