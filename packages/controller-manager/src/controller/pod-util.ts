/** Pod facts controllers decide on (upstream's podutil and controller_utils helpers). */
import type { Pod, PodCondition } from "kubernetes-types/core/v1.js";

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** Ready=True. */
export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, "Ready")?.status === "True";
}

/** Ready for more than minReadySeconds at `nowMs` (upstream's IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const c = podCondition(pod, "Ready");
  if (c?.status !== "True") return false;
  if (minReadySeconds <= 0) return true;
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  // Strictly after, as upstream's IsPodAvailable (LastTransitionTime + minReadySeconds before now).
  return !Number.isNaN(since) && since + minReadySeconds * 1000 < nowMs;
}

/** Succeeded or Failed: its containers will not run again. */
export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** Not terminal and not being deleted (upstream's IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && !pod.metadata?.deletionTimestamp;
}

/**
 * Calls fn `count` times in batches that double from `initialBatch` (upstream's slowStartBatch):
 * a failing batch stops the rest, so a create every pod would fail (a quota, a bad template)
 * costs a few requests instead of `count`. Resolves to the number of successes.
 */
export async function slowStartBatch(count: number, initialBatch: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatch); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    successes += results.length - results.filter((r) => r.status === "rejected").length;
    if (failed) return { successes, error: failed.reason };
    remaining -= batch;
  }
  return { successes };
}

/**
 * The pod's containers are done (volumeutil.IsPodTerminated): Succeeded or Failed, or being
 * deleted with no container running any more. The volume controllers' test of a pod still using a volume.
 */
export function isPodTerminated(pod: Pod): boolean {
  if (isPodTerminal(pod)) return true;
  if (!pod.metadata?.deletionTimestamp) return false;
  const stopped = (statuses: { state?: { terminated?: unknown; waiting?: unknown } }[] | undefined) => (statuses ?? []).every((s) => s.state?.terminated !== undefined || s.state?.waiting !== undefined);
  return stopped(pod.status?.initContainerStatuses) && stopped(pod.status?.containerStatuses) && stopped(pod.status?.ephemeralContainerStatuses);
}
