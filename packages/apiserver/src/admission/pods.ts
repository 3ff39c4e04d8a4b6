/**
 * Pod admission on create: DefaultTolerationSeconds (not-ready / unreachable NoExecute
 * tolerations, seconds from the profile). ServiceAccount is ./serviceaccount.ts.
 */
import type { KubeObject } from "../storage/index.js";

type Obj = Record<string, any>;

const TAINTS = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];

/** Adds the two NoExecute tolerations unless the pod already tolerates those taints. */
export function addDefaultTolerations(pod: KubeObject, seconds: number): void {
  const spec = (pod.spec ?? (pod.spec = {})) as Obj;
  const tolerations: Obj[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  for (const key of TAINTS) {
    const covered = tolerations.some(
      (t) => (t.key === key || (t.key === undefined && t.operator === "Exists")) && (t.effect === undefined || t.effect === "" || t.effect === "NoExecute"),
    );
    if (!covered) tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds });
  }
  spec.tolerations = tolerations;
}
