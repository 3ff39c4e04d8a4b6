/**
 * Which pod a controller gives up first when it has too many (upstream's controller.ActivePods and
 * controller.ActivePodsWithRanks orderings). Every comparator here sorts the pod that should be
 * deleted first to the front: negative when `a` goes before `b`.
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { isPodActive, isPodReady, podCondition } from "./pod-util.js";

/** Annotation that makes some of a controller's pods cheaper (lower) or dearer to delete. */
export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

/** Pending before Unknown before Running; every other phase counts as Pending (a Go map's zero). */
const PHASE_ORDINAL: ReadonlyMap<string, number> = new Map([
  ["Pending", 0],
  ["Unknown", 1],
  ["Running", 2],
]);

/** A pod and how many active related pods share its node (more = a better candidate to delete). */
export interface RankedPod {
  pod: Pod;
  rank: number;
}

/**
 * controller.ActivePods: unassigned < assigned; Pending < Unknown < Running; not ready < ready;
 * ready for less time < more; more container restarts < fewer; newer < older (a missing time
 * sorts first). Equal pods compare 0.
 */
export function compareActivePods(a: Pod, b: Pod): number {
  return (
    compareAssignedPhaseReady(a, b) ||
    compareReadyTime(a, b, undefined, false) ||
    compareRestarts(a, b) ||
    compareTimes(timeMs(a.metadata?.creationTimestamp), timeMs(b.metadata?.creationTimestamp), a, b, undefined, false)
  );
}

/**
 * controller.ActivePodsWithRanks, with PodDeletionCost and LogarithmicScaleDown on (1.32's
 * defaults): unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower
 * pod-deletion-cost < higher; higher rank (more co-located pods) < lower; ready for less time
 * < more; more restarts < fewer; newer < older. With `nowMs`, ready and creation times are
 * compared on a log2 scale of their age, and pods in the same bucket are ordered by uid (a
 * pseudo-random but stable choice, so scale-down does not always hit the very newest pod).
 */
export function compareActivePodsWithRanks(a: RankedPod, b: RankedPod, nowMs?: number): number {
  const pa = a.pod;
  const pb = b.pod;
  return (
    compareAssignedPhaseReady(pa, pb) ||
    podDeletionCost(pa) - podDeletionCost(pb) ||
    b.rank - a.rank ||
    compareReadyTime(pa, pb, nowMs, true) ||
    compareRestarts(pa, pb) ||
    compareTimes(timeMs(pa.metadata?.creationTimestamp), timeMs(pb.metadata?.creationTimestamp), pa, pb, nowMs, true)
  );
}

/**
 * Ranks each of `podsToRank` by the number of active pods in `relatedPods` on the same node
 * (upstream's getPodsRankedByRelatedPodsOnSameNode; unassigned pods share the node "").
 */
export function rankByRelatedPodsOnSameNode(podsToRank: readonly Pod[], relatedPods: readonly Pod[]): RankedPod[] {
  const onNode = new Map<string, number>();
  for (const p of relatedPods) {
    if (!isPodActive(p)) continue;
    const node = p.spec?.nodeName ?? "";
    onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  return podsToRank.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? "") ?? 0 }));
}

/**
 * `podsToRank` sorted best-to-delete first, ranked against `relatedPods` (the pods of every
 * controller sharing the owner, upstream's relatedPods), as of `nowMs`. A new array.
 */
export function rankedPodsForDeletion(podsToRank: readonly Pod[], relatedPods: readonly Pod[], nowMs?: number): Pod[] {
  return rankByRelatedPodsOnSameNode(podsToRank, relatedPods)
    .sort((a, b) => compareActivePodsWithRanks(a, b, nowMs))
    .map((r) => r.pod);
}

/**
 * The pod's deletion cost (an int32 in the annotation; 0 when absent or invalid, as upstream's
 * GetDeletionCostFromPodAnnotations: no "+", no leading zeros).
 */
export function podDeletionCost(pod: Pod): number {
  const value = pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (value === undefined || !/^(0|[1-9][0-9]*|-[0-9]+)$/.test(value)) return 0;
  const n = Number(value);
  return n >= -(2 ** 31) && n <= 2 ** 31 - 1 ? n : 0;
}

function compareAssignedPhaseReady(a: Pod, b: Pod): number {
  const na = a.spec?.nodeName ?? "";
  const nb = b.spec?.nodeName ?? "";
  if (na !== nb && (na === "" || nb === "")) return na === "" ? -1 : 1;
  const phase = phaseOrdinal(a) - phaseOrdinal(b);
  if (phase !== 0) return phase;
  const ra = isPodReady(a);
  if (ra !== isPodReady(b)) return ra ? 1 : -1;
  return 0;
}

function compareReadyTime(a: Pod, b: Pod, nowMs: number | undefined, logarithmic: boolean): number {
  if (!isPodReady(a) || !isPodReady(b)) return 0;
  return compareTimes(readyTimeMs(a), readyTimeMs(b), a, b, nowMs, logarithmic);
}

/**
 * Later (younger) first, a missing time before any; on the log scale, younger bucket first and
 * uid within a bucket. Go's metav1.Time zero value is our undefined.
 */
function compareTimes(ta: number | undefined, tb: number | undefined, a: Pod, b: Pod, nowMs: number | undefined, logarithmic: boolean): number {
  if (ta === tb) return 0;
  if (ta === undefined || tb === undefined) return ta === undefined ? -1 : 1;
  if (!logarithmic || nowMs === undefined) return tb - ta;
  const diff = logBucket(nowMs - ta) - logBucket(nowMs - tb);
  if (diff !== 0) return diff;
  const ua = a.metadata?.uid ?? "";
  const ub = b.metadata?.uid ?? "";
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/** floor(log2(age in nanoseconds)), -1 for an age ≤ 0 (upstream's logarithmicRankDiff terms). */
function logBucket(ageMs: number): number {
  return ageMs > 0 ? Math.floor(Math.log2(ageMs * 1e6)) : -1;
}

/** More restarts first: regular containers, then (on a tie) restartable init containers (sidecars). */
function compareRestarts(a: Pod, b: Pod): number {
  const [regularA, sidecarA] = maxRestarts(a);
  const [regularB, sidecarB] = maxRestarts(b);
  return regularB - regularA || sidecarB - sidecarA;
}

function maxRestarts(pod: Pod): [regular: number, sidecar: number] {
  let regular = 0;
  for (const s of pod.status?.containerStatuses ?? []) regular = Math.max(regular, s.restartCount ?? 0);
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always").map((c) => c.name));
  let sidecar = 0;
  for (const s of pod.status?.initContainerStatuses ?? []) if (sidecars.has(s.name)) sidecar = Math.max(sidecar, s.restartCount ?? 0);
  return [regular, sidecar];
}

function phaseOrdinal(pod: Pod): number {
  return PHASE_ORDINAL.get(pod.status?.phase ?? "") ?? 0;
}

function readyTimeMs(pod: Pod): number | undefined {
  const c = podCondition(pod, "Ready");
  return c?.status === "True" ? timeMs(c.lastTransitionTime) : undefined;
}

function timeMs(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}
