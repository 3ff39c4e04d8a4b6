/**
 * The beta OS and arch labels kept equal to the stable ones (upstream's reconcileNodeLabels):
 * old clients still select on beta.kubernetes.io/os and beta.kubernetes.io/arch.
 */
import type { NodeObject } from "../node-util/taints.js";

const RECONCILE = [
  { primary: "kubernetes.io/os", secondary: "beta.kubernetes.io/os" },
  { primary: "kubernetes.io/arch", secondary: "beta.kubernetes.io/arch" },
];

/** The labels to set (secondary = primary where the primary exists and they differ or the secondary is missing). */
export function labelsToReconcile(node: NodeObject): Record<string, string> {
  const labels = node.metadata.labels ?? {};
  const out: Record<string, string> = {};
  for (const r of RECONCILE) {
    const primary = labels[r.primary];
    if (primary === undefined) continue;
    if (labels[r.secondary] !== primary) out[r.secondary] = primary;
  }
  return out;
}
