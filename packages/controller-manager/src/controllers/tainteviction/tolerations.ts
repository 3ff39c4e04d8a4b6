/** Which tolerations let a pod stay with a node's NoExecute taints, and for how long (upstream's v1helper.GetMatchingTolerations and getMinTolerationTime). */
import type { Taint, Toleration } from "kubernetes-types/core/v1.js";
import { toleratesTaint } from "@kubemu/common";

/** Every taint tolerated, and the first toleration that tolerates each; false as soon as one is not. */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[]): { allTolerated: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((x) => toleratesTaint(x, taint));
    if (!t) return { allTolerated: false, used: [] };
    used.push(t);
  }
  return { allTolerated: true, used };
}

/** The shortest tolerationSeconds in ms (0 for none given or any ≤ 0), or -1 when they all tolerate forever. */
export function minTolerationTimeMs(tolerations: readonly Toleration[]): number {
  if (tolerations.length === 0) return 0;
  let min = Infinity;
  for (const t of tolerations) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}
