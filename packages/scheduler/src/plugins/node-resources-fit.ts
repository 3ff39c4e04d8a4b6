/**
 * NodeResourcesFit: Filter checks that the pod's request (containers, sidecars, init containers'
 * maximum, overhead) fits the node's allocatable minus what its pods already request, and that the
 * pod count stays within allocatable pods; every shortfall is a reason ("Insufficient cpu",
 * "Too many pods"). Score is upstream's default LeastAllocated strategy (cpu and memory, weight 1
 * each), on requests with the non-zero defaults for containers that request nothing.
 */
import type { CycleState } from "../framework/cycle-state.js";
import type { ClusterEvent } from "../framework/events.js";
import { MAX_NODE_SCORE, type FilterPlugin, type PreFilterOutcome, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo, Resources } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { NODE_RESOURCES_FIT } from "./names.js";

/** One resource the pod asks for that the node cannot give (upstream's InsufficientResource). */
export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
}

function isExtendedResourceName(name: string): boolean {
  // Upstream: not native (native = no "/" or in kubernetes.io/), not "requests."-prefixed.
  return name.includes("/") && !name.includes("kubernetes.io/") && !name.startsWith("requests.");
}

/** Options of the Filter (upstream's NodeResourcesFitArgs ignored resources). */
export interface FitOptions {
  ignoredResources?: readonly string[];
  ignoredResourceGroups?: readonly string[];
}

/**
 * The resources `request` lacks on nodeInfo (upstream's fitsRequest). Empty = fits. The pod count
 * is checked first, then cpu, memory, ephemeral-storage and scalar resources.
 */
export function fitsRequest(request: Resources, nodeInfo: NodeInfo, opts: FitOptions = {}): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  if (nodeInfo.pods.length + 1 > alloc.allowedPodNumber) {
    out.push({ resourceName: "pods", reason: "Too many pods", requested: 1, used: nodeInfo.pods.length, capacity: alloc.allowedPodNumber });
  }
  if (request.milliCPU === 0 && request.memory === 0 && request.ephemeralStorage === 0 && request.scalar.size === 0) return out;
  if (request.milliCPU > 0 && request.milliCPU > alloc.milliCPU - used.milliCPU) {
    out.push({ resourceName: "cpu", reason: "Insufficient cpu", requested: request.milliCPU, used: used.milliCPU, capacity: alloc.milliCPU });
  }
  if (request.memory > 0 && request.memory > alloc.memory - used.memory) {
    out.push({ resourceName: "memory", reason: "Insufficient memory", requested: request.memory, used: used.memory, capacity: alloc.memory });
  }
  if (request.ephemeralStorage > 0 && request.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    out.push({
      resourceName: "ephemeral-storage",
      reason: "Insufficient ephemeral-storage",
      requested: request.ephemeralStorage,
      used: used.ephemeralStorage,
      capacity: alloc.ephemeralStorage,
    });
  }
  for (const [name, q] of request.scalar) {
    if (q === 0) continue;
    if (isExtendedResourceName(name)) {
      if (opts.ignoredResources?.includes(name)) continue;
      if (opts.ignoredResourceGroups?.includes(name.split("/")[0]!)) continue;
    }
    const a = alloc.scalar.get(name) ?? 0;
    const u = used.scalar.get(name) ?? 0;
    if (q > a - u) out.push({ resourceName: name, reason: `Insufficient ${name}`, requested: q, used: u, capacity: a });
  }
  return out;
}

/**
 * True if the request certainly fits (the allocation-free common case of the filter loop); false
 * means "look closer" — fitsRequest then lists the shortfalls, honouring ignored resources.
 */
function fitsQuickly(request: Resources, nodeInfo: NodeInfo): boolean {
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  if (nodeInfo.pods.length + 1 > alloc.allowedPodNumber) return false;
  if (request.milliCPU > 0 && request.milliCPU > alloc.milliCPU - used.milliCPU) return false;
  if (request.memory > 0 && request.memory > alloc.memory - used.memory) return false;
  if (request.ephemeralStorage > 0 && request.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) return false;
  if (request.scalar.size > 0) {
    for (const [name, q] of request.scalar) if (q > 0 && q > (alloc.scalar.get(name) ?? 0) - (used.scalar.get(name) ?? 0)) return false;
  }
  return true;
}

/** Upstream's leastRequestedScore: the free share of capacity on a 0..100 scale (integer division). */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

export class NodeResourcesFit implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NODE_RESOURCES_FIT;

  constructor(private readonly opts: FitOptions = {}) {}

  eventsToRegister(): ClusterEvent[] {
    return [
      { resource: "Pod", actionType: "Delete" },
      { resource: "Pod", actionType: "UpdatePodScaleDown" },
      { resource: "Node", actionType: "Add" },
      { resource: "Node", actionType: "UpdateNodeAllocatable" },
      { resource: "Node", actionType: "UpdateNodeTaint" },
      { resource: "Node", actionType: "UpdateNodeLabel" },
    ];
  }

  preFilter(): PreFilterOutcome {
    // The request is precomputed in the PodInfo; nothing to store.
    return { status: null };
  }

  filter(_state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): Status | null {
    if (fitsQuickly(pi.requests, nodeInfo)) return null;
    const insufficient = fitsRequest(pi.requests, nodeInfo, this.opts);
    if (insufficient.length === 0) return null;
    return new Status(
      "Unschedulable",
      insufficient.map((r) => r.reason),
    );
  }

  preScore(): Status | null {
    return null;
  }

  /** LeastAllocated over cpu and memory (weights 1, 1); a resource the node has none of is left out. */
  score(_state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): number {
    const alloc = nodeInfo.allocatable;
    const req = nodeInfo.nonZeroRequested;
    let total = 0;
    let weights = 0;
    if (alloc.milliCPU !== 0) {
      total += leastRequestedScore(req.milliCPU + pi.nonZeroMilliCPU, alloc.milliCPU);
      weights++;
    }
    if (alloc.memory !== 0) {
      total += leastRequestedScore(req.memory + pi.nonZeroMemory, alloc.memory);
      weights++;
    }
    return weights === 0 ? 0 : Math.trunc(total / weights);
  }
}
