/**
 * The Node authorizer's graph (upstream's plugin/pkg/auth/authorizer/node/graph.go, written as
 * indexes rather than a general graph): which node each pod is bound to, and for every secret,
 * configMap, claim and service account the nodes whose pods use it, counted per pod. A
 * PersistentVolume leads to its bound claim, and the secrets it names lead to the volume:
 *
 *   pod → node;  secret / configmap / pvc / serviceaccount → pod;  pv → pvc;  secret → pv
 *
 * Mirror pods reach their node and nothing else. Pure: the populator feeds it from informers.
 */
import type { KubeObject } from "@kubemu/common";
import { podReferences, pvReferences, type PodReferences, type PvReferences } from "./references.js";

export type VertexType = "pod" | "secret" | "configmap" | "pvc" | "pv" | "serviceaccount";

const key = (type: VertexType, namespace: string, name: string) => `${type}|${namespace}|${name}`;

export class NodeGraph {
  /** "<namespace>/<name>" → what the pod refers to. */
  private readonly pods = new Map<string, PodReferences>();
  private readonly pvs = new Map<string, PvReferences>();
  /** vertex key → node → how many pods of that node use it. */
  private readonly toNodes = new Map<string, Map<string, number>>();
  /** secret "<namespace>/<name>" → the PVs naming it. */
  private readonly secretPvs = new Map<string, Set<string>>();
  /** claim "<namespace>/<name>" → the PVs bound to it. */
  private readonly claimPvs = new Map<string, Set<string>>();

  /** Records (or re-records) a pod; a pod with no node yet is not in the graph. */
  addPod(pod: KubeObject): void {
    const ns = pod.metadata.namespace ?? "";
    const name = pod.metadata.name ?? "";
    this.deletePod(ns, name);
    const refs = podReferences(pod);
    if (!refs) return;
    this.pods.set(`${ns}/${name}`, refs);
    this.podEdges(ns, refs, +1);
  }

  deletePod(namespace: string, name: string): void {
    const k = `${namespace}/${name}`;
    const refs = this.pods.get(k);
    if (!refs) return;
    this.pods.delete(k);
    this.podEdges(namespace, refs, -1);
  }

  /** Records (or re-records) a PV; one not bound to a claim leads nowhere. */
  addPV(pv: KubeObject): void {
    const name = pv.metadata.name ?? "";
    this.deletePV(name);
    const refs = pvReferences(pv);
    if (!refs) return;
    this.pvs.set(name, refs);
    addTo(this.claimPvs, refs.claim, name);
    for (const s of refs.secrets) addTo(this.secretPvs, s, name);
  }

  deletePV(name: string): void {
    const refs = this.pvs.get(name);
    if (!refs) return;
    this.pvs.delete(name);
    removeFrom(this.claimPvs, refs.claim, name);
    for (const s of refs.secrets) removeFrom(this.secretPvs, s, name);
  }

  /** The node a pod is bound to, if the graph knows the pod. */
  podNode(namespace: string, name: string): string | undefined {
    return this.pods.get(`${namespace}/${name}`)?.node;
  }

  /** Whether the object leads to node (upstream's hasPathFrom). Namespace is "" for PVs. */
  hasPathFrom(node: string, type: VertexType, namespace: string, name: string): boolean {
    if (type === "pod") return this.podNode(namespace, name) === node;
    if (this.toNodes.get(key(type, namespace, name))?.has(node)) return true;
    if (type === "pv") {
      const claim = this.pvs.get(name)?.claim;
      if (!claim) return false;
      const [ns = "", n = ""] = splitOnce(claim);
      return this.hasPathFrom(node, "pvc", ns, n);
    }
    if (type === "secret") for (const pv of this.secretPvs.get(`${namespace}/${name}`) ?? []) if (this.hasPathFrom(node, "pv", "", pv)) return true;
    return false;
  }

  /** Sizes (tests, metrics). */
  get size(): { pods: number; pvs: number; vertices: number } {
    return { pods: this.pods.size, pvs: this.pvs.size, vertices: this.toNodes.size };
  }

  private podEdges(ns: string, refs: PodReferences, delta: 1 | -1): void {
    if (refs.mirror) return;
    const edge = (type: VertexType, n: string) => this.count(key(type, ns, n), refs.node, delta);
    if (refs.serviceAccount) edge("serviceaccount", refs.serviceAccount);
    for (const s of refs.secrets) edge("secret", s);
    for (const c of refs.configMaps) edge("configmap", c);
    for (const c of refs.claims) edge("pvc", c);
  }

  private count(k: string, node: string, delta: 1 | -1): void {
    let perNode = this.toNodes.get(k);
    if (!perNode) {
      if (delta < 0) return;
      perNode = new Map();
      this.toNodes.set(k, perNode);
    }
    const n = (perNode.get(node) ?? 0) + delta;
    if (n > 0) perNode.set(node, n);
    else perNode.delete(node);
    if (perNode.size === 0) this.toNodes.delete(k);
  }
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

function splitOnce(s: string): [string, string] {
  const i = s.indexOf("/");
  return [s.slice(0, i), s.slice(i + 1)];
}
