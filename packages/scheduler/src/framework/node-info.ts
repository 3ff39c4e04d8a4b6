/**
 * NodeInfo: what the scheduler knows about one node — the Node object and the pods on it (bound or
 * assumed), with their resource requests, host ports and PVC uses summed up so the filters read
 * numbers instead of walking pods. PodInfo carries a pod's precomputed data (requests, ports,
 * compiled affinity terms) so a pod's quantities are parsed once, not once per node per cycle.
 *
 * The shape follows kube-scheduler's pkg/scheduler/framework/types.go: `generation` is taken from
 * one process-wide counter that only grows, so the cache's incremental snapshot can tell which
 * NodeInfos changed since the last snapshot (even across a node deleted and re-added).
 */
import type { Container, Node, Pod, PodAffinityTerm, WeightedPodAffinityTerm } from "kubernetes-types/core/v1.js";
import { compileLabelSelector, type LabelMatcher } from "./labels.js";
import { milliValueOf, valueOf } from "./quantities.js";

/** Resource amounts as numbers: millicores, bytes, a pod count, and scalar resources by name. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  allowedPodNumber: number;
  /** Extended resources (`example.com/gpu`), `hugepages-*`, `attachable-volumes-*`, `kubernetes.io/*`. */
  scalar: Map<string, number>;
}

/** Upstream's schedutil.DefaultMilliCPURequest: the CPU a container without a request counts as when scoring. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Upstream's schedutil.DefaultMemoryRequest (200 MiB). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** An empty Resources. */
export function newResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, allowedPodNumber: 0, scalar: new Map() };
}

/** A copy of r. */
export function cloneResources(r: Resources): Resources {
  return { milliCPU: r.milliCPU, memory: r.memory, ephemeralStorage: r.ephemeralStorage, allowedPodNumber: r.allowedPodNumber, scalar: new Map(r.scalar) };
}

/**
 * True for the resource names upstream keeps in ScalarResources (v1helper's extended, hugepages,
 * prefixed-native and attachable-volume names); other unknown names are ignored, as upstream does.
 */
export function isScalarResourceName(name: string): boolean {
  return name.includes("/") || name.startsWith("hugepages-") || name.startsWith("attachable-volumes-");
}

/** Adds a ResourceList (quantity strings by resource name) into r, as upstream's Resource.Add. */
export function addResourceList(r: Resources, list: Readonly<Record<string, string | number>> | undefined): void {
  if (list === undefined) return;
  for (const name in list) {
    const q = list[name]!;
    switch (name) {
      case "cpu":
        r.milliCPU += milliValueOf(q);
        break;
      case "memory":
        r.memory += valueOf(q);
        break;
      case "pods":
        r.allowedPodNumber += valueOf(q);
        break;
      case "ephemeral-storage":
        r.ephemeralStorage += valueOf(q);
        break;
      default:
        if (isScalarResourceName(name)) r.scalar.set(name, (r.scalar.get(name) ?? 0) + valueOf(q));
    }
  }
}

/** The Resources of a ResourceList (`node.status.allocatable`, a container's requests). */
export function resourcesFromList(list: Readonly<Record<string, string | number>> | undefined): Resources {
  const r = newResources();
  addResourceList(r, list);
  return r;
}

function addInto(into: Resources, r: Resources): void {
  into.milliCPU += r.milliCPU;
  into.memory += r.memory;
  into.ephemeralStorage += r.ephemeralStorage;
  into.allowedPodNumber += r.allowedPodNumber;
  for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + v);
}

function maxInto(into: Resources, r: Resources): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  into.allowedPodNumber = Math.max(into.allowedPodNumber, r.allowedPodNumber);
  for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

/** A container's requests; with `nonMissing`, a missing cpu/memory request counts as upstream's defaults. */
function containerRequests(c: Container, nonMissing: boolean): Resources {
  const reqs = c.resources?.requests as Record<string, string> | undefined;
  const r = resourcesFromList(reqs);
  if (nonMissing) {
    if (reqs === undefined || !("cpu" in reqs)) r.milliCPU += DEFAULT_MILLI_CPU_REQUEST;
    if (reqs === undefined || !("memory" in reqs)) r.memory += DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

function isRestartableInit(c: Container): boolean {
  return c.restartPolicy === "Always";
}

/**
 * The pod's effective request, as component-helpers' PodRequests: the sum of its containers and
 * of its restartable init containers (sidecars), or, if larger per resource, the largest init
 * container's request plus the sidecars started before it; then spec.overhead on top.
 * `nonMissing` gives each container without a cpu/memory request upstream's defaults (scoring's
 * "non-zero" requests).
 */
function podRequests(pod: Pod, nonMissing: boolean): Resources {
  const spec = pod.spec;
  const result = newResources();
  if (spec === undefined) return result;
  for (const c of spec.containers ?? []) addInto(result, containerRequests(c, nonMissing));
  const sidecars = newResources();
  const initMax = newResources();
  for (const c of spec.initContainers ?? []) {
    const r = containerRequests(c, nonMissing);
    if (isRestartableInit(c)) {
      addInto(result, r);
      addInto(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      addInto(r, sidecars);
      maxInto(initMax, r);
    }
  }
  maxInto(result, initMax);
  addResourceList(result, spec.overhead as Record<string, string> | undefined);
  return result;
}

/** A pod's resource request as the scheduler counts it (upstream's computePodResourceRequest). */
export function computePodResourceRequest(pod: Pod): Resources {
  return podRequests(pod, false);
}

/** A host port a container asks for, with upstream's defaults applied (hostIP 0.0.0.0, protocol TCP). */
export interface HostPort {
  hostIP: string;
  protocol: string;
  hostPort: number;
}

/** Upstream's DefaultBindAllHostIP. */
export const BIND_ALL_HOST_IP = "0.0.0.0";

/** The host ports of the pod's containers and its restartable init containers (schedutil.GetHostPorts). */
export function podHostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  const visit = (c: Container) => {
    for (const p of c.ports ?? []) {
      if (p.hostPort === undefined || p.hostPort <= 0) continue;
      out.push({ hostIP: p.hostIP || BIND_ALL_HOST_IP, protocol: p.protocol || "TCP", hostPort: p.hostPort });
    }
  };
  for (const c of pod.spec?.initContainers ?? []) if (isRestartableInit(c)) visit(c);
  for (const c of pod.spec?.containers ?? []) visit(c);
  return out;
}

/** Host ports in use on a node: hostIP → set of `protocol/port` (upstream's HostPortInfo). */
export class HostPortInfo {
  private readonly byIP = new Map<string, Set<string>>();

  /** Records ip/protocol/port as used (empty ip = 0.0.0.0, empty protocol = TCP). */
  add(ip: string, protocol: string, port: number): void {
    const key = `${protocol || "TCP"}/${port}`;
    const host = ip || BIND_ALL_HOST_IP;
    let set = this.byIP.get(host);
    if (set === undefined) this.byIP.set(host, (set = new Set()));
    set.add(key);
  }

  /** Releases ip/protocol/port. */
  remove(ip: string, protocol: string, port: number): void {
    const host = ip || BIND_ALL_HOST_IP;
    const set = this.byIP.get(host);
    if (set === undefined) return;
    set.delete(`${protocol || "TCP"}/${port}`);
    if (set.size === 0) this.byIP.delete(host);
  }

  /** The number of ip/protocol/port entries. */
  get size(): number {
    let n = 0;
    for (const s of this.byIP.values()) n += s.size;
    return n;
  }

  /**
   * True if ip/protocol/port collides with a port in use: 0.0.0.0 collides with the same
   * protocol/port on any IP, any other IP with itself and with 0.0.0.0 (upstream's CheckConflict).
   */
  checkConflict(ip: string, protocol: string, port: number): boolean {
    if (port <= 0) return false;
    const key = `${protocol || "TCP"}/${port}`;
    const host = ip || BIND_ALL_HOST_IP;
    if (host === BIND_ALL_HOST_IP) {
      for (const s of this.byIP.values()) if (s.has(key)) return true;
      return false;
    }
    return this.byIP.get(BIND_ALL_HOST_IP)?.has(key) === true || this.byIP.get(host)?.has(key) === true;
  }

  /** A deep copy. */
  clone(): HostPortInfo {
    const c = new HostPortInfo();
    for (const [ip, s] of this.byIP) c.byIP.set(ip, new Set(s));
    return c;
  }

  /** The entries, for tests and debugging. */
  entries(): HostPort[] {
    const out: HostPort[] = [];
    for (const [hostIP, s] of this.byIP) {
      for (const k of s) {
        const slash = k.indexOf("/");
        out.push({ hostIP, protocol: k.slice(0, slash), hostPort: Number(k.slice(slash + 1)) });
      }
    }
    return out;
  }
}

/** A compiled pod (anti-)affinity term (upstream's framework.AffinityTerm). */
export interface AffinityTerm {
  /** Namespaces named by the term; the pod's own namespace when the term names none and has no namespaceSelector. */
  namespaces: ReadonlySet<string>;
  selector: LabelMatcher;
  topologyKey: string;
  /** nil → nothing, `{}` → every namespace. */
  namespaceSelector: LabelMatcher;
}

/** A preferred term with its weight (upstream's framework.WeightedAffinityTerm). */
export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/**
 * True if `pod` (whose namespace has labels `nsLabels`) is selected by the term: its namespace is
 * one of the term's or matches the namespaceSelector, and its labels match the selector.
 */
export function affinityTermMatches(term: AffinityTerm, pod: Pod, nsLabels: Readonly<Record<string, string>> | undefined): boolean {
  const ns = pod.metadata?.namespace ?? "";
  if (!term.namespaces.has(ns) && !term.namespaceSelector.matches(nsLabels)) return false;
  return term.selector.matches(pod.metadata?.labels);
}

function compileTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  const named = t.namespaces ?? [];
  const namespaces = named.length === 0 && (t.namespaceSelector === undefined || t.namespaceSelector === null) ? new Set([pod.metadata?.namespace ?? ""]) : new Set(named);
  return {
    namespaces,
    selector: compileLabelSelector(t.labelSelector),
    topologyKey: t.topologyKey,
    namespaceSelector: compileLabelSelector(t.namespaceSelector),
  };
}

function compileWeighted(pod: Pod, terms: WeightedPodAffinityTerm[] | undefined): WeightedAffinityTerm[] {
  return (terms ?? []).map((w) => ({ ...compileTerm(pod, w.podAffinityTerm), weight: w.weight }));
}

/** A pod with everything the algorithm reads precomputed. Treat it as immutable. */
export interface PodInfo {
  pod: Pod;
  /** metadata.uid: the key NodeInfo matches pods by. */
  uid: string;
  requiredAffinityTerms: AffinityTerm[];
  requiredAntiAffinityTerms: AffinityTerm[];
  preferredAffinityTerms: WeightedAffinityTerm[];
  preferredAntiAffinityTerms: WeightedAffinityTerm[];
  /** computePodResourceRequest(pod). */
  requests: Resources;
  /** CPU/memory with upstream's defaults for containers that request none (for scoring). */
  nonZeroMilliCPU: number;
  nonZeroMemory: number;
  hostPorts: HostPort[];
  /** `namespace/claim` of each persistentVolumeClaim volume. */
  pvcKeys: string[];
  /** spec.priority, 0 when unset. */
  priority: number;
  /** The pod has any pod affinity or anti-affinity. */
  hasAffinity: boolean;
  /** The pod has required anti-affinity terms. */
  hasRequiredAntiAffinity: boolean;
}

/** Builds a pod's PodInfo (upstream's NewPodInfo plus the cached resource calculation). */
export function newPodInfo(pod: Pod): PodInfo {
  const aff = pod.spec?.affinity;
  const nonZero = podRequests(pod, true);
  const ns = pod.metadata?.namespace ?? "";
  const pvcKeys: string[] = [];
  for (const v of pod.spec?.volumes ?? []) if (v.persistentVolumeClaim) pvcKeys.push(`${ns}/${v.persistentVolumeClaim.claimName}`);
  return {
    pod,
    uid: pod.metadata?.uid ?? "",
    requiredAffinityTerms: (aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileTerm(pod, t)),
    requiredAntiAffinityTerms: (aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileTerm(pod, t)),
    preferredAffinityTerms: compileWeighted(pod, aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinityTerms: compileWeighted(pod, aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    requests: computePodResourceRequest(pod),
    nonZeroMilliCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    hostPorts: podHostPorts(pod),
    pvcKeys,
    priority: pod.spec?.priority ?? 0,
    hasAffinity: aff !== undefined && (aff.podAffinity !== undefined || aff.podAntiAffinity !== undefined),
    hasRequiredAntiAffinity: (aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0,
  };
}

/** One image present on a node (upstream's ImageStateSummary); ImageLocality is not implemented, so this stays empty. */
export interface ImageStateSummary {
  size: number;
  numNodes: number;
}

let generationCounter = 0;

/** The next value of the process-wide generation counter (never repeats). */
export function nextGeneration(): number {
  return ++generationCounter;
}

function removeByUid(list: PodInfo[], uid: string): PodInfo | undefined {
  for (let i = 0; i < list.length; i++) {
    if (list[i]!.uid === uid) {
      const removed = list[i]!;
      // Swap with the last element, as upstream does (order is not meaningful).
      list[i] = list[list.length - 1]!;
      list.pop();
      return removed;
    }
  }
  return undefined;
}

/** Node-level aggregated information (upstream's framework.NodeInfo). */
export class NodeInfo {
  node: Node | undefined;
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** Sum of the pods' requests (allowedPodNumber is not summed: the pod count is pods.length). */
  requested: Resources = newResources();
  /** Sum of the pods' requests with upstream's defaults for containers that request no cpu/memory (scoring). */
  nonZeroRequested: Resources = newResources();
  /** node.status.allocatable. */
  allocatable: Resources = newResources();
  usedPorts: HostPortInfo = new HostPortInfo();
  imageStates: Map<string, ImageStateSummary> = new Map();
  pvcRefCounts: Map<string, number> = new Map();
  generation: number;
  /**
   * PodTopologySpread's memo of matching-pod counts by interned selector id, each tagged with the
   * generation it was counted at (so a stale entry is simply recounted). Not copied by clone().
   */
  spreadCountMemo: Map<number, { generation: number; count: number }> | undefined = undefined;
  private nodeName = "";

  constructor(node?: Node) {
    this.generation = nextGeneration();
    if (node !== undefined) this.setNode(node);
  }

  /** The node's name, or "" without a node. */
  get name(): string {
    return this.nodeName;
  }

  /** Sets (or replaces) the Node object; allocatable is re-read from its status. */
  setNode(node: Node): void {
    this.node = node;
    this.nodeName = node.metadata?.name ?? "";
    this.allocatable = resourcesFromList(node.status?.allocatable as Record<string, string> | undefined);
    this.generation = nextGeneration();
  }

  /** Forgets the Node object, keeping the pods (the cache removes the NodeInfo once its pods are gone). */
  removeNode(): void {
    this.node = undefined;
    this.nodeName = "";
    this.generation = nextGeneration();
  }

  /** Adds a pod (computing its PodInfo). */
  addPod(pod: Pod): void {
    this.addPodInfo(newPodInfo(pod));
  }

  /** Adds a pod whose PodInfo is already computed. */
  addPodInfo(pi: PodInfo): void {
    this.pods.push(pi);
    if (pi.hasAffinity) this.podsWithAffinity.push(pi);
    if (pi.hasRequiredAntiAffinity) this.podsWithRequiredAntiAffinity.push(pi);
    this.update(pi, 1);
  }

  /** Removes the pod with pod's metadata.uid; false if no such pod is on this node. */
  removePod(pod: Pod): boolean {
    const uid = pod.metadata?.uid ?? "";
    if (uid === "") return false;
    const removed = removeByUid(this.pods, uid);
    if (removed === undefined) return false;
    if (removed.hasAffinity) removeByUid(this.podsWithAffinity, uid);
    if (removed.hasRequiredAntiAffinity) removeByUid(this.podsWithRequiredAntiAffinity, uid);
    this.update(removed, -1);
    return true;
  }

  private update(pi: PodInfo, sign: 1 | -1): void {
    const r = pi.requests;
    const req = this.requested;
    req.milliCPU += sign * r.milliCPU;
    req.memory += sign * r.memory;
    req.ephemeralStorage += sign * r.ephemeralStorage;
    for (const [k, v] of r.scalar) req.scalar.set(k, (req.scalar.get(k) ?? 0) + sign * v);
    this.nonZeroRequested.milliCPU += sign * pi.nonZeroMilliCPU;
    this.nonZeroRequested.memory += sign * pi.nonZeroMemory;
    for (const p of pi.hostPorts) {
      if (sign > 0) this.usedPorts.add(p.hostIP, p.protocol, p.hostPort);
      else this.usedPorts.remove(p.hostIP, p.protocol, p.hostPort);
    }
    for (const key of pi.pvcKeys) {
      const n = (this.pvcRefCounts.get(key) ?? 0) + sign;
      if (n <= 0) this.pvcRefCounts.delete(key);
      else this.pvcRefCounts.set(key, n);
    }
    this.generation = nextGeneration();
  }

  /** A copy that can change independently (PodInfos are shared: they are immutable). Keeps the generation. */
  clone(): NodeInfo {
    const c = Object.create(NodeInfo.prototype) as NodeInfo;
    c.node = this.node;
    c.nodeName = this.nodeName;
    c.spreadCountMemo = undefined;
    c.pods = this.pods.slice();
    c.podsWithAffinity = this.podsWithAffinity.slice();
    c.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity.slice();
    c.requested = cloneResources(this.requested);
    c.nonZeroRequested = cloneResources(this.nonZeroRequested);
    c.allocatable = cloneResources(this.allocatable);
    c.usedPorts = this.usedPorts.clone();
    c.imageStates = new Map(this.imageStates);
    c.pvcRefCounts = new Map(this.pvcRefCounts);
    c.generation = this.generation;
    return c;
  }
}
