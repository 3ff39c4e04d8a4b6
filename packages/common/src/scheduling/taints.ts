/** Taints and tolerations as upstream's corev1 helpers judge them (the scheduler and controllers share it). */

export interface TaintLike {
  key?: string;
  value?: string;
  effect?: string;
}

export interface TolerationLike {
  key?: string;
  value?: string;
  effect?: string;
  operator?: string;
}

/** The toleration tolerates the taint (upstream's Toleration.ToleratesTaint): empty effect = any effect, empty key with Exists = any key. */
export function toleratesTaint(t: TolerationLike, taint: TaintLike): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? "") {
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    case "Exists":
      return true;
    default:
      return false;
  }
}
