/**
 * A StatefulSet pod's identity (upstream's stateful_set_utils.go): its name `<set>-<ordinal>`,
 * the labels naming it, hostname and subdomain, the claims it mounts, the revision it runs, and
 * the pod facts the controller's ordering decides on.
 */
import { Resources } from "@kubemu/common";
import type { Volume } from "kubernetes-types/core/v1.js";
import { podFromTemplate } from "../../controller/pod-control.js";
import { isPodAvailable, isPodReady } from "../../controller/pod-util.js";
import type { ClaimObject, PodObject, StatefulSetObject } from "./types.js";
import { POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL } from "./types.js";

const STATEFUL_POD_RE = /^(.*)-([0-9]+)$/;

/** The parent set's name and the ordinal in a pod's name; "" and -1 if the name has none. */
export function parentAndOrdinal(pod: PodObject): { parent: string; ordinal: number } {
  const m = STATEFUL_POD_RE.exec(pod.metadata.name ?? "");
  if (!m) return { parent: "", ordinal: -1 };
  const n = Number(m[2]);
  // Upstream parses with ParseInt(.., 10, 32): an ordinal beyond int32 is no ordinal.
  return { parent: m[1]!, ordinal: n <= 2 ** 31 - 1 ? n : -1 };
}

export const ordinalOf = (pod: PodObject): number => parentAndOrdinal(pod).ordinal;

/** spec.ordinals.start, or 0. */
export function startOrdinal(set: StatefulSetObject): number {
  return set.spec.ordinals?.start ?? 0;
}

export function replicasOf(set: StatefulSetObject): number {
  return set.spec.replicas ?? 1;
}

/** The last ordinal the set runs (inclusive). */
export function endOrdinal(set: StatefulSetObject): number {
  return startOrdinal(set) + replicasOf(set) - 1;
}

export function podInOrdinalRange(pod: PodObject, set: StatefulSetObject): boolean {
  const o = ordinalOf(pod);
  return o >= startOrdinal(set) && o <= endOrdinal(set);
}

export function podName(set: StatefulSetObject, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

/** `<claim template>-<set>-<ordinal>`. */
export function claimName(set: StatefulSetObject, template: string, ordinal: number): string {
  return `${template}-${set.metadata.name}-${ordinal}`;
}

/** Whether the pod's name makes it one of the set's (the claim filter). */
export function isMemberOf(set: StatefulSetObject, pod: PodObject): boolean {
  return parentAndOrdinal(pod).parent === set.metadata.name;
}

/** Name, namespace and pod-name label as the set would give them. */
export function identityMatches(set: StatefulSetObject, pod: PodObject): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod);
  return ordinal >= 0 && parent === set.metadata.name && pod.metadata.name === podName(set, ordinal) && pod.metadata.namespace === set.metadata.namespace && pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name;
}

/** Every claim template is mounted from the pod's own claim. */
export function storageMatches(set: StatefulSetObject, pod: PodObject): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  return (set.spec.volumeClaimTemplates ?? []).every((t) => volumes.get(t.metadata?.name ?? "")?.persistentVolumeClaim?.claimName === claimName(set, t.metadata?.name ?? "", ordinal));
}

/**
 * The claims the pod needs, by template name: each template with its per-pod name, the set's
 * namespace, and the set's matchLabels on top of the template's labels.
 */
export function claimsFor(set: StatefulSetObject, pod: PodObject): Map<string, ClaimObject> {
  const ordinal = ordinalOf(pod);
  const out = new Map<string, ClaimObject>();
  for (const t of set.spec.volumeClaimTemplates ?? []) {
    const template = t.metadata?.name ?? "";
    const claim = structuredClone(t) as ClaimObject;
    claim.metadata = { ...(claim.metadata ?? {}), name: claimName(set, template, ordinal), namespace: set.metadata.namespace };
    claim.metadata.labels = { ...(claim.metadata.labels ?? {}), ...(set.spec.selector.matchLabels ?? {}) };
    out.set(template, claim);
  }
  return out;
}

/** Mounts the pod's claims under the template names, replacing volumes of those names. */
export function updateStorage(set: StatefulSetObject, pod: PodObject): void {
  const claims = claimsFor(set, pod);
  const volumes: Volume[] = [...claims].map(([name, claim]) => ({ name, persistentVolumeClaim: { claimName: claim.metadata.name! } }));
  for (const v of pod.spec?.volumes ?? []) if (!claims.has(v.name)) volumes.push(v);
  pod.spec = { ...(pod.spec ?? { containers: [] }), volumes };
  // Go leaves an empty list out (omitempty).
  if (volumes.length === 0) delete pod.spec.volumes;
}

/** Name, namespace, pod-name and pod-index labels. */
export function updateIdentity(set: StatefulSetObject, pod: PodObject): void {
  const ordinal = ordinalOf(pod);
  pod.metadata.name = podName(set, ordinal);
  pod.metadata.namespace = set.metadata.namespace;
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: pod.metadata.name, [POD_INDEX_LABEL]: String(ordinal) };
}

/** updateIdentity plus hostname and subdomain, which are immutable once the pod exists. */
function initIdentity(set: StatefulSetObject, pod: PodObject): void {
  updateIdentity(set, pod);
  pod.spec = { ...(pod.spec ?? { containers: [] }), hostname: pod.metadata.name };
  // An empty subdomain is no field at all (upstream's "" is omitted in JSON).
  if (set.spec.serviceName) pod.spec.subdomain = set.spec.serviceName;
  else delete pod.spec.subdomain;
}

export function podRevision(pod: PodObject): string {
  return pod.metadata.labels?.[REVISION_LABEL] ?? "";
}

function setPodRevision(pod: PodObject, revision: string): void {
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [REVISION_LABEL]: revision };
}

/** The set's pod at `ordinal`, from its template (upstream's newStatefulSetPod). */
export function newStatefulSetPod(set: StatefulSetObject, ordinal: number): PodObject {
  const pod = podFromTemplate(set.spec.template, set, Resources.statefulSets);
  pod.metadata.name = podName(set, ordinal);
  initIdentity(set, pod);
  updateStorage(set, pod);
  return pod;
}

/**
 * The pod at `ordinal` at the revision it should run: below the partition (or, with no
 * rollingUpdate, below the current replicas) the current revision, otherwise the update revision.
 */
export function newVersionedStatefulSetPod(currentSet: StatefulSetObject, updateSet: StatefulSetObject, currentRevision: string, updateRevision: string, ordinal: number): PodObject {
  const strategy = currentSet.spec.updateStrategy;
  const rolling = strategy?.type === "RollingUpdate" || strategy?.type === undefined;
  const start = startOrdinal(currentSet);
  // Upstream's condition reads (rolling && noRollingUpdate && below current) || (rollingUpdate && below partition).
  const belowCurrent = rolling && !strategy?.rollingUpdate && ordinal < start + (currentSet.status?.currentReplicas ?? 0);
  const belowPartition = !!strategy?.rollingUpdate && ordinal < start + (strategy.rollingUpdate.partition ?? 0);
  if (belowCurrent || belowPartition) {
    const pod = newStatefulSetPod(currentSet, ordinal);
    setPodRevision(pod, currentRevision);
    return pod;
  }
  const pod = newStatefulSetPod(updateSet, ordinal);
  setPodRevision(pod, updateRevision);
  return pod;
}

export function isRunningAndReady(pod: PodObject): boolean {
  return pod.status?.phase === "Running" && isPodReady(pod);
}

export function isRunningAndAvailable(pod: PodObject, minReadySeconds: number, nowMs: number): boolean {
  return isPodAvailable(pod, minReadySeconds, nowMs);
}

/** The API server has the pod (the ones the controller is about to create have no phase). */
export function isCreated(pod: PodObject): boolean {
  return !!pod.status?.phase;
}

export const isPending = (pod: PodObject) => pod.status?.phase === "Pending";
export const isFailed = (pod: PodObject) => pod.status?.phase === "Failed";
export const isSucceeded = (pod: PodObject) => pod.status?.phase === "Succeeded";
export const isTerminating = (pod: PodObject) => !!pod.metadata.deletionTimestamp;

/** Running, Ready and not being deleted. */
export function isHealthy(pod: PodObject): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

/** podManagementPolicy Parallel: create and delete without waiting, in no order. */
export function allowsBurst(set: StatefulSetObject): boolean {
  return set.spec.podManagementPolicy === "Parallel";
}
